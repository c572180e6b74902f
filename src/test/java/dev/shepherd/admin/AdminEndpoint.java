package dev.shepherd.admin;

import java.util.List;

/** One endpoint of the admin port as the sweeps call it: method, path and, for a command, a valid body. */
record AdminEndpoint(String method, String path, String body) {

    /** The admin API, every endpoint. */
    static final List<AdminEndpoint> FLEET = List.of(
            new AdminEndpoint("GET", "/fleet", null),
            new AdminEndpoint("GET", "/fleet/workers/1", null),
            new AdminEndpoint("GET", "/fleet/events", null),
            new AdminEndpoint("GET", "/fleet/workers/1/logs", null),
            new AdminEndpoint("POST", "/fleet/scale", "{\"workers\": 3}"),
            new AdminEndpoint("POST", "/fleet/reload", null),
            new AdminEndpoint("POST", "/fleet/workers/1/replace", null),
            new AdminEndpoint("POST", "/fleet/workers/1/kill", "{\"signal\": \"KILL\"}"));

    /** Every exposed actuator endpoint but health, which is open. */
    static final List<AdminEndpoint> ACTUATOR = List.of(
            new AdminEndpoint("GET", "/actuator", null),
            new AdminEndpoint("GET", "/actuator/info", null),
            new AdminEndpoint("GET", "/actuator/metrics", null),
            new AdminEndpoint("GET", "/actuator/metrics/jvm.memory.used", null),
            new AdminEndpoint("GET", "/actuator/prometheus", null));

    /** The methods each spelling is sent with. */
    static final List<String> METHODS = List.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");
}
