package dev.shepherd.admin;

import dev.shepherd.FileProblems;
import dev.shepherd.InvalidSetting;
import dev.shepherd.PortLayout;
import dev.shepherd.fleet.FleetProperties;
import jakarta.servlet.DispatcherType;
import lombok.extern.slf4j.Slf4j;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.config.ObjectPostProcessor;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configurers.AbstractHttpConfigurer;
import org.springframework.security.config.annotation.web.configurers.AuthorizeHttpRequestsConfigurer;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.web.AuthenticationEntryPoint;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.access.AccessDeniedHandler;
import org.springframework.security.web.access.intercept.AuthorizationFilter;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;
import org.springframework.security.web.authentication.AuthenticationEntryPointFailureHandler;
import org.springframework.security.web.authentication.AuthenticationFilter;
import org.springframework.security.web.context.RequestAttributeSecurityContextRepository;
import org.springframework.security.web.firewall.RequestRejectedHandler;
import org.springframework.security.web.header.HeaderWriterFilter;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Access control of the admin port, through Spring Security. Its {@code StrictHttpFirewall} first rejects every
 * request whose path could be read two ways ({@code ;}, encoded {@code /}, {@code .}, {@code %}, {@code \},
 * {@code //}, {@code ..}; a method other than GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE) with a 400 problem;
 * then {@link BrowserGuard} refuses other hosts and origins; then {@link AdminToken} tells who calls. The matchers
 * below see the path as Spring MVC routes it: health, the fleet page with its files, and Swagger UI's files (none holds
 * fleet data) are open to GET and HEAD; every other path, known or not, needs the
 * caller to be authenticated, which without a token everyone on loopback is. Last, {@link BodyBudget} bounds the
 * bodies an authorized caller sends. No HTTP session, no CSRF token (the
 * API takes a bearer token, never a cookie), no form login, no generated password.
 */
@Slf4j
@Configuration(proxyBeanMethods = false)
class AdminSecurity {

    private static final String[] OPEN_TO_READ = {"/actuator/health", "/actuator/health/**",
            "/", "/index.html", "/*.js", "/*.css", "/webjars/**",
            "/swagger-ui.html", "/swagger-ui/**"};
    private static final String SEND_TOKEN = ": send Authorization: Bearer <fleet.admin.token>";

    /** The token check; as an AuthenticationManager bean it also keeps Boot from generating a password. */
    @Bean
    AdminToken adminToken(FleetProperties properties, @Value("${server.address:127.0.0.1}") String adminAddress,
            SocketOwners owners, @Value("${" + PortLayout.IGNORED_FORWARD_HEADERS + ":}") String ignoredForwarding) {
        if (!ignoredForwarding.isEmpty()) {
            log.warn("{} not applied: the admin API takes no forwarded header (its "
                    + "callers are told apart by their connections), the proxy's are fleet.proxy.trusted-proxies, and a "
                    + "Spring Boot worker takes the setting in its own environment (fleet.worker.environment)",
                    ignoredForwarding);
        }
        FleetProperties.Admin admin = properties.admin();
        String secret = secret(admin);
        // A token from the file follows the file: Kubernetes rotates a mounted Secret by swapping it.
        boolean fromFile = (admin.token() == null || admin.token().isBlank()) && admin.tokenFile() != null;
        AdminToken token = new AdminToken(secret, fromFile ? Path.of(admin.tokenFile()) : null, System::nanoTime, owners);
        if (inProcessList(secret, Path.of("/proc/self/cmdline"))) {
            // Any user of the machine, a worker too, read it with ps (found by an attacking helper).
            log.warn("fleet.admin.token is written in the master's command line, which every user of this machine "
                    + "reads in the process list (ps): give it as FLEET_ADMIN_TOKEN or in a file, fleet.admin.token-file");
        }
        if (!token.required() && !isLoopback(adminAddress)) {
            throw new InvalidSetting("fleet.admin.token", "The admin port is bound to " + adminAddress
                    + " (management.server.address), reachable from other machines, and fleet.admin.token is not set.",
                    "Set fleet.admin.token (env FLEET_ADMIN_TOKEN) to a secret, or bind the admin port to 127.0.0.1.");
        }

        return token;
    }

    /**
     * Whether {@code secret} is written in the master's command line ({@code /proc/self/cmdline}: an argument, a
     * {@code -D} option, {@code spring.application.json}), which every user of the machine reads with {@code ps};
     * false where that cannot be read, or for no secret. Reads at most 1 MiB.
     */
    static boolean inProcessList(String secret, Path cmdline) {
        if (secret == null || secret.isBlank()) {
            return false;
        }
        try (InputStream in = Files.newInputStream(cmdline)) {
            String line = new String(in.readNBytes(1 << 20), StandardCharsets.UTF_8);
            return line.contains(secret);
        } catch (IOException | RuntimeException ex) {
            return false;
        }
    }

    /** The most a token file may hold, in bytes: a token is a line, and /dev/zero must not fill the heap. */
    static final int TOKEN_FILE_LIMIT = 4096;

    /**
     * The token: {@code fleet.admin.token}, else the content of {@code fleet.admin.token-file} (at most
     * {@link #TOKEN_FILE_LIMIT} bytes), else null; without white space around it, which no {@code Authorization}
     * header can carry (HTTP trims it) and the command line strips too (a token file with a trailing space locked
     * every client out, found by an attacking helper).
     *
     * @throws InvalidSetting when the file is set but blank, cannot be read, is too large or holds no token
     */
    static String secret(FleetProperties.Admin admin) {
        if (admin.token() != null && !admin.token().isBlank()) {
            if (!oneLine(admin.token().strip())) {
                throw new InvalidSetting("fleet.admin.token", "fleet.admin.token holds a line break or another control "
                        + "character, which no HTTP header can carry", "Set fleet.admin.token to the token alone, on one line.");
            }
            return admin.token().strip();
        }
        if (admin.tokenFile() != null && admin.tokenFile().isBlank()) {
            // FLEET_ADMIN_TOKEN_FILE="$SECRETS/admin-token" with SECRETS unset reads as a path, but "$FILE" with FILE
            // unset is blank: as with a blank token, whoever wrote it believes the admin API is protected.
            throw new InvalidSetting("fleet.admin.token-file", "fleet.admin.token-file is set but blank",
                    "Point fleet.admin.token-file (env FLEET_ADMIN_TOKEN_FILE) at the file that holds the token, or "
                            + "leave it out for an admin port on loopback without a token.");
        }
        if (admin.tokenFile() == null) {
            if (admin.token() != null) {
                // FLEET_ADMIN_TOKEN="$TOKEN" with TOKEN unset: whoever wrote it believes the admin API is protected.
                throw new InvalidSetting("fleet.admin.token", "fleet.admin.token is set but blank",
                        "Set fleet.admin.token (env FLEET_ADMIN_TOKEN) to a secret, or leave it out for an admin port "
                                + "on loopback without a token.");
            }
            return null;
        }
        return tokenFromFile(admin.tokenFile());
    }

    /**
     * {@code text} without the byte order mark Windows editors write first in a UTF-8 file (Notepad's UTF-8,
     * PowerShell's {@code Out-File -Encoding utf8}): kept, it was part of the token, which then matched none typed or
     * copied from the file, and {@code strip()} does not take it (found by an attacking helper).
     */
    static String withoutByteOrderMark(String text) {
        return text.startsWith("\uFEFF") ? text.substring(1) : text;
    }

    /**
     * The token {@code tokenFile} holds, read at startup and whenever it changes ({@link AdminToken}).
     *
     * @throws InvalidSetting when the file cannot be read, is too large or holds no token
     */
    static String tokenFromFile(String tokenFile) {
        String content;
        try {
            Path path = Path.of(tokenFile);
            if (Files.exists(path) && !Files.isRegularFile(path)) {
                // A pipe would block the reading thread for ever, a device never end (found by an attacking helper).
                throw new InvalidSetting("fleet.admin.token-file", "fleet.admin.token-file names " + tokenFile
                        + ", which is not a regular file (a directory, a pipe or a device)",
                        "Point fleet.admin.token-file (env FLEET_ADMIN_TOKEN_FILE) at a file that holds the token.");
            }
            byte[] bytes;
            try (InputStream in = Files.newInputStream(path)) {
                bytes = in.readNBytes(TOKEN_FILE_LIMIT + 1);
            }
            if (bytes.length > TOKEN_FILE_LIMIT) {
                throw new InvalidSetting("fleet.admin.token-file", "fleet.admin.token-file names " + tokenFile
                        + ", which holds more than " + TOKEN_FILE_LIMIT + " bytes",
                        "Point fleet.admin.token-file (env FLEET_ADMIN_TOKEN_FILE) at a file that holds the token alone.");
            }
            content = new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException unreadable) {
            if (unreadable instanceof InvalidSetting invalid) {
                throw invalid;
            }
            throw new InvalidSetting("fleet.admin.token-file", "fleet.admin.token-file names " + tokenFile
                    + ", which cannot be read (" + (unreadable instanceof IOException io ? FileProblems.reason(io)
                    : "not a path") + ")",
                    "Point fleet.admin.token-file (env FLEET_ADMIN_TOKEN_FILE) at a readable file that holds the token.");
        }
        String secret = withoutByteOrderMark(content).strip();
        if (secret.isBlank()) {
            throw new InvalidSetting("fleet.admin.token-file", "fleet.admin.token-file names " + tokenFile
                    + ", which holds no token", "Put the token in the file, or set fleet.admin.token.");
        }
        if (!oneLine(secret)) {
            // Two lines put in force locked every client out, as no header can carry them (found by an attacking helper).
            throw new InvalidSetting("fleet.admin.token-file", "fleet.admin.token-file names " + tokenFile
                    + ", which holds a line break or another control character inside the token, which no HTTP header "
                    + "can carry", "Put the token alone, on one line, in the file.");
        }
        return secret;
    }

    /** Whether {@code token} has no control character, which an {@code Authorization} header cannot carry. */
    private static boolean oneLine(String token) {
        return token.chars().noneMatch(c -> c < ' ' || c == 0x7f);
    }

    /** Whose processes call the admin port: the kernel's socket tables of this host. */
    @Bean
    SocketOwners socketOwners() {
        return SocketOwners.ofThisProcess();
    }

    @Bean
    SecurityFilterChain adminFilterChain(HttpSecurity http, AdminToken token, FleetProperties properties) throws Exception {
        AuthenticationFilter authentication = new AuthenticationFilter(token, token);
        authentication.setSuccessHandler((request, response, caller) -> { });
        authentication.setFailureHandler(new AuthenticationEntryPointFailureHandler(unauthorized(token)));
        // Headers written before the request goes on, not when the response commits: an event stream's writer thread
        // commits it while the request thread is still in the filter (spring-security#9175), which lost them or threw.
        http.headers(headers -> headers.addObjectPostProcessor(new ObjectPostProcessor<HeaderWriterFilter>() {
            @Override
            public <O extends HeaderWriterFilter> O postProcess(O filter) {
                filter.setShouldWriteHeadersEagerly(true);
                return filter;
            }
        }));
        // No Strict-Transport-Security (Spring Security's default over TLS: a year, with includeSubDomains): a browser
        // takes it for the whole host, every port, so one look at the fleet page over https made it refuse the proxy's
        // plain-http port on that host, and every subdomain's, for a year (an attacking helper). Whether a host is
        // https only is for whoever serves its pages to say.
        http.headers(headers -> headers.httpStrictTransportSecurity(hsts -> hsts.disable()));
        http.csrf(AbstractHttpConfigurer::disable)
                .formLogin(AbstractHttpConfigurer::disable)
                .httpBasic(AbstractHttpConfigurer::disable)
                .logout(AbstractHttpConfigurer::disable)
                .requestCache(AbstractHttpConfigurer::disable)
                .sessionManagement(session -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .securityContext(context -> context.securityContextRepository(new RequestAttributeSecurityContextRepository()))
                .addFilterAfter(new BrowserGuard(!token.required(), properties.admin().allowedHosts()), HeaderWriterFilter.class)
                .addFilterBefore(authentication, AnonymousAuthenticationFilter.class)
                .exceptionHandling(exceptions -> exceptions.authenticationEntryPoint(unauthorized(token))
                        .accessDeniedHandler(forbidden()))
                .authorizeHttpRequests(AdminSecurity::authorize)
                .addFilterAfter(new BodyBudget(), AuthorizationFilter.class)
                .addFilterAfter(new EmptyErrors(), BodyBudget.class);
        return http.build();
    }

    private static void authorize(AuthorizeHttpRequestsConfigurer<HttpSecurity>.AuthorizationManagerRequestMatcherRegistry rules) {
        // An async or error dispatch continues a request that was authorized when it came in.
        rules.dispatcherTypeMatchers(DispatcherType.ASYNC, DispatcherType.ERROR).permitAll()
                // Spring Boot's error page, only for the error dispatches above: called directly it answers 500.
                .requestMatchers("/error", "/error/**").denyAll()
                .requestMatchers(HttpMethod.GET, OPEN_TO_READ).permitAll()
                .requestMatchers(HttpMethod.HEAD, OPEN_TO_READ).permitAll()
                .anyRequest().authenticated();
    }

    /** A firewall rejection as a 400 problem, logged in one line at DEBUG: it is the client's doing, not ours. */
    @Bean
    RequestRejectedHandler requestRejectedHandler() {
        return (request, response, rejection) -> {
            log.debug("Rejected a request to the admin port: {}", String.valueOf(rejection.getMessage()).replaceAll("\\p{Cntrl}", "?"));
            // No instance: its path is what was rejected.
            Problems.write(null, response, HttpStatus.BAD_REQUEST, "The request was rejected: its path or a header can be "
                    + "read in more than one way (;, an encoded / . % or \\, //, .., a control character) or its "
                    + "method is not one of GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE; send the plain path");
        };
    }

    /**
     * 401 with RFC 6750's challenge: no error code without credentials (§3), {@code invalid_request} for a header
     * that is not {@code Bearer <token>}, {@code invalid_token} for a wrong token (§3.1). A malformed header stays a
     * 401 rather than §3.1's suggested 400: a 401 is what the README and clients (shepherd's own) take for "send the
     * token", and it is one. Without a token, the caller is another user's process ({@link SocketOwners}), which no
     * header lets in: 403, saying whose processes are answered.
     */
    private static AuthenticationEntryPoint unauthorized(AdminToken token) {
        return (request, response, failure) -> {
            if (!token.required()) {
                Problems.write(request, response, HttpStatus.FORBIDDEN, "This admin port has no token, so it answers "
                        + "only " + token.owners().admitted() + " on this machine; another user needs fleet.admin.token set");
                return;
            }
            boolean bad = failure instanceof BadCredentialsException;
            String error = failure instanceof AdminToken.MalformedAuthorizationException ? "invalid_request"
                    : "invalid_token";
            response.setHeader(HttpHeaders.WWW_AUTHENTICATE,
                    "Bearer realm=\"shepherd\"" + (bad ? ", error=\"" + error + "\"" : ""));
            Problems.write(request, response, HttpStatus.UNAUTHORIZED,
                    (bad ? failure.getMessage() : "missing Authorization header") + SEND_TOKEN);
        };
    }

    private static AccessDeniedHandler forbidden() {
        return (request, response, denied) -> Problems.write(request, response, HttpStatus.FORBIDDEN,
                "This path of the admin port is not for clients");
    }

    private static boolean isLoopback(String address) {
        try {
            return InetAddress.getByName(address).isLoopbackAddress();
        } catch (UnknownHostException ex) {
            return false;
        }
    }
}
