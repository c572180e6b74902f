package dev.shepherd.ctl;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where the admin API is and the token it wants, resolved from the options first, then the environment:
 * {@code --admin}, {@code SHEPHERD_ADMIN_URL}, else {@value #DEFAULT_URL} (the default {@code management.server.port});
 * {@code --token}, {@code SHEPHERD_ADMIN_TOKEN}, else the content of the file {@code SHEPHERD_ADMIN_TOKEN_FILE} names
 * (Docker and Kubernetes secrets), with surrounding white space removed.
 *
 * @param url the admin API's base URL, without a trailing slash
 * @param token the bearer token, or null when none is set
 */
record AdminTarget(URI url, String token) {

    static final String DEFAULT_URL = "http://127.0.0.1:8081";
    static final String URL_VARIABLE = "SHEPHERD_ADMIN_URL";
    static final String TOKEN_VARIABLE = "SHEPHERD_ADMIN_TOKEN";
    static final String TOKEN_FILE_VARIABLE = "SHEPHERD_ADMIN_TOKEN_FILE";

    static AdminTarget resolve(String adminOption, String tokenOption, Map<String, String> env) {
        String given = firstSet(adminOption, env.get(URL_VARIABLE), DEFAULT_URL);
        String setting = adminOption != null && !adminOption.isBlank() ? "--admin " : URL_VARIABLE + "=";
        return new AdminTarget(url(given, source(adminOption, env), setting), token(tokenOption, env));
    }

    /**
     * {@code MANAGEMENT_SERVER_PORT} when the admin URL was made of it ({@code bin/shepherd} does so inside a
     * container), for an error; else null. Found by an attacking helper: the error named only the variable the user
     * never set.
     */
    private static String source(String adminOption, Map<String, String> env) {
        if (adminOption != null && !adminOption.isBlank()) {
            return null;
        }
        String port = env.get("MANAGEMENT_SERVER_PORT");
        return port != null && ("http://127.0.0.1:" + port).equals(env.get(URL_VARIABLE))
                ? "MANAGEMENT_SERVER_PORT, of which bin/shepherd made " + URL_VARIABLE : null;
    }

    /**
     * The URL as given, {@code http://} assumed when it names no scheme; then it must name a port
     * ({@code 127.0.0.1:8081}): a bare word ({@code --admin foo}) was taken for a host on port 80 and reported as a
     * master not running (found by a new user), where it is a mistyped URL. It names no path: the admin API's paths
     * are its own ({@code /fleet}, {@code /actuator}), and one given here was put before them.
     *
     * @param setting how the URL was given, as a corrected one is written after it ({@code --admin },
     *        {@code SHEPHERD_ADMIN_URL=})
     */
    private static URI url(String given, String source, String setting) {
        boolean schemeless = !given.strip().contains("://");
        String spelled = schemeless ? "http://" + given.strip() : given.strip();
        while (spelled.endsWith("/")) {
            spelled = spelled.substring(0, spelled.length() - 1);
        }
        try {
            URI uri = new URI(spelled);
            if (uri.getRawUserInfo() != null) {
                // Never used, and quoting the URL would show a password (found by an attacking helper).
                throw new CtlException("the admin URL" + (source == null ? "" : " (from " + source + ")") + " holds a "
                        + "user name or password, which the admin API does not take: give the URL without it and the "
                        + "token with --token, " + TOKEN_VARIABLE + " or " + TOKEN_FILE_VARIABLE, Ctl.USAGE);
            }
            if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null
                    && uri.getQuery() == null && uri.getFragment() == null && (!schemeless || uri.getPort() >= 0)
                    && uri.getPort() <= 65535) {
                return withoutPath(uri, given, source, setting, schemeless);
            }
        } catch (URISyntaxException ex) {
            // reported below, in the same words as any other unusable URL
        }
        throw new CtlException("the admin URL '" + given + "'" + (source == null ? "" : " (from " + source + ")")
                + " is not usable: give one such as " + DEFAULT_URL + " with --admin or " + URL_VARIABLE, Ctl.USAGE);
    }

    /**
     * {@code uri} when it has no path. {@code --admin http://127.0.0.1:8081/x} asked for {@code /x/fleet}, which a
     * master with a token refuses before it looks for the path: the error said the API wants a token (a new user's).
     */
    private static URI withoutPath(URI uri, String given, String source, String setting, boolean schemeless) {
        if (uri.getRawPath() == null || uri.getRawPath().isEmpty()) {
            return uri;
        }
        String corrected = (schemeless ? "" : uri.getScheme() + "://") + uri.getRawAuthority();
        throw new CtlException("the admin URL '" + given.strip() + "'" + (source == null ? "" : " (from " + source + ")")
                + " has a path, " + uri.getRawPath() + ", which the admin API does not take (its paths are its own: "
                + "/fleet, /actuator): give " + setting + corrected, Ctl.USAGE);
    }

    private static String token(String tokenOption, Map<String, String> env) {
        String token = firstSet(tokenOption, env.get(TOKEN_VARIABLE), null);
        if (token != null) {
            return oneLine(token.strip(), tokenOption != null && !tokenOption.isBlank() ? "--token" : TOKEN_VARIABLE);
        }
        String file = env.get(TOKEN_FILE_VARIABLE);
        if (file == null || file.isBlank()) {
            return null;
        }
        try {
            String content = Files.readString(Path.of(file));
            // A Windows editor's byte order mark is no part of the token (the master leaves it out too).
            content = (content.startsWith("\uFEFF") ? content.substring(1) : content).strip();
            if (content.isEmpty()) {
                throw new CtlException("the token file " + file + " (" + TOKEN_FILE_VARIABLE + ") is empty: put the "
                        + "admin token (fleet.admin.token) in it", Ctl.USAGE);
            }
            return oneLine(content, "the token file " + file);
        } catch (IOException ex) {
            // Exit 2, as a bad argument: nothing was asked of the admin API.
            throw new CtlException("cannot read the token file " + file + " named by " + TOKEN_FILE_VARIABLE
                    + ": check the path and its permissions", Ctl.USAGE);
        }
    }

    /**
     * {@code token}, if it holds no control character: a line break or a tab cannot go in an HTTP header, and the
     * JDK's refusal used to be reported as a bad admin URL, quoting the token. This message does not quote it.
     */
    private static String oneLine(String token, String source) {
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c < ' ' || c == 0x7f) {
                throw new CtlException("the token from " + source + " holds a line break or another control "
                        + "character, which no HTTP header can carry: give the token alone, on one line", Ctl.USAGE);
            }
        }
        return token;
    }

    private static String firstSet(String option, String variable, String otherwise) {
        if (option != null && !option.isBlank()) {
            return option;
        }
        return variable != null && !variable.isBlank() ? variable : otherwise;
    }
}
