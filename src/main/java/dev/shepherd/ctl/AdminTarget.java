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
        return new AdminTarget(url(firstSet(adminOption, env.get(URL_VARIABLE), DEFAULT_URL)), token(tokenOption, env));
    }

    private static URI url(String given) {
        String spelled = given.strip().contains("://") ? given.strip() : "http://" + given.strip();
        while (spelled.endsWith("/")) {
            spelled = spelled.substring(0, spelled.length() - 1);
        }
        try {
            URI uri = new URI(spelled);
            if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null
                    && uri.getQuery() == null && uri.getFragment() == null) {
                return uri;
            }
        } catch (URISyntaxException ex) {
            // reported below, in the same words as any other unusable URL
        }
        throw new CtlException("the admin URL '" + given + "' is not usable: give one such as " + DEFAULT_URL
                + " with --admin or " + URL_VARIABLE, Ctl.USAGE);
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
            String content = Files.readString(Path.of(file)).strip();
            if (content.isEmpty()) {
                throw new CtlException("the token file " + file + " (" + TOKEN_FILE_VARIABLE + ") is empty: put the "
                        + "admin token (fleet.admin.token) in it");
            }
            return oneLine(content, "the token file " + file);
        } catch (IOException ex) {
            throw new CtlException("cannot read the token file " + file + " named by " + TOKEN_FILE_VARIABLE
                    + ": check the path and its permissions");
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
