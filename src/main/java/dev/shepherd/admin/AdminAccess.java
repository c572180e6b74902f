package dev.shepherd.admin;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * When {@code fleet.admin.token} is set, {@code /fleet/**} and every actuator endpoint but health need
 * {@code Authorization: Bearer <token>}, compared in constant time. The page and its files hold no data and stay open.
 */
class AdminAccess extends OncePerRequestFilter {

    private final byte[] token;

    AdminAccess(String token) {
        this.token = token.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String path = request.getRequestURI();
        boolean guarded = path.equals("/fleet") || path.startsWith("/fleet/") || path.startsWith("/actuator");
        boolean health = path.equals("/actuator/health") || path.startsWith("/actuator/health/");
        return !guarded || health;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String header = request.getHeader(HttpHeaders.AUTHORIZATION);
        byte[] given = header != null && header.startsWith("Bearer ")
                ? header.substring("Bearer ".length()).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
        if (MessageDigest.isEqual(token, given)) {
            chain.doFilter(request, response);
            return;
        }
        String problem = header == null ? "missing Authorization header" : "wrong token";
        response.setStatus(HttpServletResponse.SC_UNAUTHORIZED);
        response.setHeader(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"shepherd\"");
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        response.setCharacterEncoding(StandardCharsets.UTF_8);
        response.getWriter().write("{\"type\":\"about:blank\",\"title\":\"Unauthorized\",\"status\":401,\"detail\":\""
                + problem + ": send Authorization: Bearer <fleet.admin.token>\",\"instance\":\"" + request.getRequestURI()
                .replace("\\", "").replace("\"", "") + "\"}");
    }
}
