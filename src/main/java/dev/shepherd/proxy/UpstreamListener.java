package dev.shepherd.proxy;

/**
 * Who a worker connection reports to while it is in use: the {@link Exchange} of the request it carries, or, after
 * a {@code 101}, the {@link Tunnel} it has become. Called on the connection's event loop only.
 */
interface UpstreamListener {

    /** A {@link ResponseHead}, a body part ({@code ByteBuf}, released by the listener), or an end marker. */
    void onUpstreamMessage(Object message);

    /** The end of one read from the worker. */
    void upstreamReadComplete();

    /** The worker closed its side (a FIN); the connection stays open for what goes the other way. */
    default boolean upstreamInputShutdown() {
        return false;
    }

    /** The connection closed or failed; {@code cause} is the error seen, if any. */
    void onUpstreamClosed(Throwable cause);

    void upstreamWritabilityChanged(boolean writable);
}
