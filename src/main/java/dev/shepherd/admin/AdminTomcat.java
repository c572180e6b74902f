package dev.shepherd.admin;

import dev.shepherd.fleet.FleetProperties;
import org.springframework.boot.tomcat.TomcatWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.stereotype.Component;

/**
 * The admin port's Tomcat speaks {@link AdminHttpProtocol}: Tomcat's NIO protocol with
 * {@code fleet.admin.max-connections-per-client}.
 */
@Component
class AdminTomcat implements WebServerFactoryCustomizer<TomcatWebServerFactory> {

    private final FleetProperties properties;

    AdminTomcat(FleetProperties properties) {
        this.properties = properties;
    }

    @Override
    public void customize(TomcatWebServerFactory factory) {
        factory.setProtocol(AdminHttpProtocol.class.getName());
        int max = properties.admin().maxConnectionsPerClient();
        factory.addProtocolHandlerCustomizers(handler -> {
            if (handler instanceof AdminHttpProtocol admin) {
                admin.setMaxConnectionsPerClient(max);
            }
        });
    }
}
