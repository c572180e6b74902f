package dev.shepherd.fleet;

/** How the proxy picks the READY worker for each request ({@code fleet.proxy.balancer}). */
public enum Balancer {
    /** Each READY worker in turn, whatever it is doing (nginx's and Node's cluster default). */
    ROUND_ROBIN,
    /**
     * Two READY workers drawn at random, the one with fewer requests in flight wins, ties in turn: Envoy's
     * {@code LEAST_REQUEST} (the power of two choices), with the proxy's exact in-flight counts.
     */
    LEAST_REQUEST
}
