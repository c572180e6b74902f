package dev.shepherd.admin;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.io.PrintWriter;

/**
 * An error status that its handler sent without a body (Actuator's 404 for an unknown health component or group,
 * {@code /actuator/health/nope}) gets the port's RFC 9457 problem, as every other error does. A handler that wrote
 * a body, called {@code sendError} (the error dispatch, {@link ErrorDispatch}, answers that) or went asynchronous is
 * left alone, as is HEAD. Runs on the request thread, after authorization.
 */
final class EmptyErrors extends OncePerRequestFilter {

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        Watched watched = new Watched(response);
        chain.doFilter(request, watched);
        HttpStatus status = HttpStatus.resolve(response.getStatus());
        if (status != null && status.isError() && !watched.bodyTaken && !watched.errorSent && !request.isAsyncStarted()
                && !HttpMethod.HEAD.matches(request.getMethod())) {
            Problems.write(request, response, status, ErrorDispatch.detail(status));
        }
    }

    /** Records whether the handler took the body's stream or writer, or sent an error. */
    private static final class Watched extends HttpServletResponseWrapper {

        private boolean bodyTaken;
        private boolean errorSent;

        Watched(HttpServletResponse response) {
            super(response);
        }

        @Override
        public ServletOutputStream getOutputStream() throws IOException {
            bodyTaken = true;
            return super.getOutputStream();
        }

        @Override
        public PrintWriter getWriter() throws IOException {
            bodyTaken = true;
            return super.getWriter();
        }

        @Override
        public void sendError(int status) throws IOException {
            errorSent = true;
            super.sendError(status);
        }

        @Override
        public void sendError(int status, String message) throws IOException {
            errorSent = true;
            super.sendError(status, message);
        }
    }
}
