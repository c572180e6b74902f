package dev.shepherd.proxy;

import dev.shepherd.InvalidSetting;
import dev.shepherd.TerminalText;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.OptionalSslHandler;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.internal.tcnative.SSL;
import io.netty.util.ReferenceCountUtil;
import lombok.extern.slf4j.Slf4j;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslBundleRegistry;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.boot.ssl.SslOptions;
import org.springframework.boot.web.server.Ssl;
import org.springframework.boot.web.server.WebServerSslBundle;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/**
 * TLS for the proxy's port, from Spring Boot's {@code server.ssl.*} (moved to {@code shepherd.proxy.ssl} by
 * {@code PortLayout}): a key store, PEM files or an SSL bundle ({@code server.ssl.bundle}), with {@code client-auth},
 * {@code enabled-protocols} and {@code ciphers}, read through Spring Boot's {@link WebServerSslBundle} as Tomcat and
 * Reactor Netty read them, and served by Netty's {@link SslHandler}: on BoringSSL (netty-tcnative) where Netty can
 * load it, as Reactor Netty does, else on the JDK's TLS ({@code -Dio.netty.handler.ssl.noOpenSsl=true} forces the
 * JDK's; measured, a handshake cost the master ~1.2 ms of CPU on the JDK's). Only HTTP/1.1 is offered (no
 * ALPN, so clients that would speak HTTP/2 speak HTTP/1.1). A bundle that Spring Boot reloads when its files change
 * ({@code spring.ssl.bundle.*.reload-on-update}) is taken for new connections from then on; open ones keep theirs.
 * <p>A connection whose first bytes are no TLS record gets nginx's answer, {@code 400} with "The plain HTTP request
 * was sent to HTTPS port" and the connection closed ({@link OptionalSslHandler} tells them apart). The handshake
 * must end within {@code fleet.proxy.client-header-timeout}, as the request head after it.
 * <p>Thread-safe: the context is replaced as a whole ({@code volatile}); handlers are made per connection on its
 * event loop.
 */
@Slf4j
final class ProxyTls {

    private static final String PLAIN_HTTP_REASON = "The plain HTTP request was sent to HTTPS port\n";
    static final String PLAIN_HTTP_REFUSED = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: " + PLAIN_HTTP_REASON.length() + "\r\nConnection: close\r\n\r\n" + PLAIN_HTTP_REASON;

    private final long handshakeTimeoutMillis;
    private final ChannelOption<Boolean> quickAck;
    private volatile SslContext context;

    /** The name the proxy's certificate, when given as {@code server.ssl.*}, has among the SSL bundles. */
    public static final String BUNDLE_NAME = "shepherd-proxy";

    private ProxyTls(SslContext context, long handshakeTimeoutMillis, ChannelOption<Boolean> quickAck) {
        this.context = context;
        this.handshakeTimeoutMillis = handshakeTimeoutMillis;
        this.quickAck = quickAck;
    }

    /**
     * TLS as {@code ssl} describes it, or null when it is null or turned off. A certificate given as
     * {@code server.ssl.*} rather than a bundle is registered among {@code bundles} as {@link #BUNDLE_NAME}.
     *
     * @param quickAck the transport's {@code TCP_QUICKACK} option, set once a handshake is done; null: none (NIO)
     * @throws IllegalStateException naming the property, when the bundle or its keys cannot be used
     */
    static ProxyTls of(Ssl ssl, SslBundles bundles, long handshakeTimeoutMillis, ChannelOption<Boolean> quickAck) {
        if (!Ssl.isEnabled(ssl)) {
            return null;
        }
        if (!ssl.getServerNameBundles().isEmpty()) {
            // An InvalidSetting, so that Spring Boot's startup report says it, not a stack trace (found by an
            // attacking helper).
            throw new InvalidSetting("server.ssl.server-name-bundles", "server.ssl.server-name-bundles is set, but "
                    + "the proxy serves one certificate", "Remove server.ssl.server-name-bundles and give the proxy's "
                    + "certificate with server.ssl.bundle or server.ssl.*.");
        }
        String ignored = TlsKeys.ignoredBesideBundleWarning(ssl, "server.ssl", ssl.getCiphers() != null);
        if (ignored != null) {
            log.warn("{}", ignored);
        } else if (!"TLS".equals(ssl.getProtocol())) {
            // Tomcat makes its SSLContext with it; Netty's builder has no such name, only the enabled protocols.
            log.warn("server.ssl.protocol={} is not used by the proxy: set server.ssl.enabled-protocols (for example "
                    + "TLSv1.3) to choose the protocols it offers", TerminalText.safe(ssl.getProtocol()));
        }
        if (ssl.getBundle() == null && ssl.getKeyStore() == null && (ssl.getCertificate() == null)
                != (ssl.getCertificatePrivateKey() == null)) {
            // Spring's own words for it, "no trust material is configured", point away from the missing half (found
            // by a helper acting as a new user).
            boolean noKey = ssl.getCertificatePrivateKey() == null;
            throw new InvalidSetting(noKey ? "server.ssl.certificate-private-key" : "server.ssl.certificate",
                    (noKey ? "server.ssl.certificate is set, but not server.ssl.certificate-private-key"
                            : "server.ssl.certificate-private-key is set, but not server.ssl.certificate")
                            + ": the proxy serves TLS with a PEM certificate and its private key",
                    "Set server.ssl.certificate-private-key to the certificate's private key (a PEM file), with "
                            + "server.ssl.certificate its certificate chain.");
        }
        SslBundle bundle;
        try {
            bundle = WebServerSslBundle.get(ssl, bundles);
        } catch (RuntimeException ex) { // no such bundle, a key store that cannot be read, a missing password
            throw new ProxyTlsException(ex);
        }
        // A named bundle's options are what count then; server.ssl.* beside it is ignored.
        String settings = TlsKeys.optionSettings(ssl, "server.ssl");
        String[] protocols = bundle.getOptions().getEnabledProtocols();
        String[] ciphers = available(bundle.getOptions().getCiphers());
        if (ciphers != null) {
            List<String> missing = Arrays.stream(bundle.getOptions().getCiphers())
                    .filter(suite -> !Arrays.asList(ciphers).contains(suite)).map(TerminalText::safe).toList();
            if (ciphers.length == 0) {
                throw new ProxyTlsException(new IllegalStateException(settings + "ciphers names no suite that TLS on "
                        + provider() + " has (" + String.join(", ", missing) + ")"));
            }
            if (!missing.isEmpty()) {
                log.warn("{}ciphers names suites that TLS on {} does not have, left out: {}{}", settings, provider(),
                        String.join(", ", missing),
                        provider() == SslProvider.OPENSSL ? " (BoringSSL has no DHE suites)" : "");
            }
        }
        // Said before the context is made, which may fail on what they warn of (TLSv1.1 alone: no current client).
        TlsKeys.optionWarnings(protocols, ciphers, settings).forEach(warning -> log.warn("{}", warning));
        String noSuite = TlsKeys.noSuiteForAnyProtocol(protocols, ciphers, settings);
        if (noSuite != null) {
            throw new ProxyTlsException(new IllegalStateException(noSuite));
        }
        ProxyTls tls = new ProxyTls(context(ssl, bundle), handshakeTimeoutMillis, quickAck);
        if (provider() == SslProvider.OPENSSL) {
            openSslWarnings(protocols, ciphers, settings).forEach(warning -> log.warn("{}", warning));
        }
        TlsKeys.validityProblems(bundle.getManagers().getKeyManagerFactory(), bundle.getKey().getAlias(), Instant.now())
                .forEach(problem -> log.warn("server.ssl.*: {}", problem));
        if (ssl.getBundle() == null && bundles instanceof SslBundleRegistry registry
                && !bundles.getBundleNames().contains(BUNDLE_NAME)) {
            // Given as server.ssl.* rather than a named bundle: registered under a name of its own, so that the
            // Actuator's ssl health (an expired or expiring certificate) and info cover it as they cover bundles.
            registry.registerBundle(BUNDLE_NAME, bundle);
        }
        if (ssl.getBundle() != null && bundles != null) {
            TlsKeys.onReload(bundles, ssl.getBundle(), bundle, "The proxy's", "server.ssl.bundle",
                    updated -> tls.context = context(ssl, updated));
        }
        return tls;
    }

    private static SslContext context(Ssl ssl, SslBundle bundle) {
        try {
            TlsKeys.checkKeysMatch(bundle.getManagers().getKeyManagerFactory(), bundle.getKey().getAlias());
            SslContext context = builder(ssl, bundle, clientAuth(ssl.getClientAuth())).build();
            if (context.sessionContext() instanceof OpenSslSessionContext sessions) {
                sessions.setTicketKeys(); // random keys of BoringSSL's own
            }
            // Without client certificates, which a check has none of: the rest as configured.
            selfCheck(ssl.getClientAuth() == null || ssl.getClientAuth() == Ssl.ClientAuth.NONE ? context
                    : builder(ssl, bundle, ClientAuth.NONE).build());
            return context;
        } catch (SSLException | RuntimeException ex) {
            throw new ProxyTlsException(ex);
        }
    }

    private static SslContextBuilder builder(Ssl ssl, SslBundle bundle, ClientAuth clientAuth) {
        SslOptions options = bundle.getOptions();
        SslContextBuilder builder = SslContextBuilder.forServer(bundle.getManagers().getKeyManagerFactory())
                .sslProvider(provider())
                .clientAuth(clientAuth);
        if (clientAuth != ClientAuth.NONE) {
            builder.trustManager(bundle.getManagers().getTrustManagerFactory());
        }
        if (options.getEnabledProtocols() != null) {
            builder.protocols(options.getEnabledProtocols());
        }
        builder.ciphers(options.getCiphers() != null ? Arrays.asList(available(options.getCiphers()))
                        : TlsKeys.DEFAULT_CIPHERS,
                options.getCiphers() != null ? IdentityCipherSuiteFilter.INSTANCE : SupportedCipherSuiteFilter.INSTANCE);
        return builder;
    }

    /**
     * Of {@code ciphers} (null: not set), those the TLS provider has ({@link #provider}), in Java's or OpenSSL's names;
     * the rest are left out, as OpenSSL's cipher lists (nginx's {@code ssl_ciphers}) skip names they do not know, so
     * that Mozilla's "intermediate" list, whose DHE suites BoringSSL does not have, serves (it stopped startup with
     * "unsupported cipher suite"). {@link #of} warns of them, and refuses a list of none it has.
     */
    static String[] available(String[] ciphers) {
        if (ciphers == null) {
            return null;
        }
        if (provider() == SslProvider.OPENSSL) {
            return Arrays.stream(ciphers).filter(OpenSsl::isCipherSuiteAvailable).toArray(String[]::new);
        }
        try {
            List<String> supported = List.of(javax.net.ssl.SSLContext.getDefault().getSupportedSSLParameters()
                    .getCipherSuites());
            return Arrays.stream(ciphers).filter(supported::contains).toArray(String[]::new);
        } catch (java.security.NoSuchAlgorithmException ex) {
            return ciphers; // no default context to ask: the builder tells
        }
    }


    /** The TLS versions in order, as {@code enabled-protocols} names them. */
    private static final List<String> VERSIONS = List.of("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3");
    /** Every TLS 1.3 suite BoringSSL has, all of them offered with TLS 1.3. */
    private static final List<String> TLS13_SUITES = List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256");

    /**
     * Where BoringSSL ({@code TLS on OPENSSL}) offers more than {@code protocols} and {@code ciphers} (the bundle's
     * options, null when not set; named as {@code settings} followed by {@code enabled-protocols} or {@code ciphers})
     * say, which the JDK's TLS and the admin port's Tomcat follow as written: it takes only the lowest and the highest
     * version listed, every one between them offered too, and it offers every TLS 1.3 suite whatever the list names of
     * them (none named: no TLS 1.3, {@link TlsKeys#tls13WithoutSuite}) (found by an attacking helper's testssl.sh run:
     * {@code TLSv1,TLSv1.3} served TLS 1.2, and a list of AES-256 suites served TLS_AES_128_GCM_SHA256). None of these
     * is weak; a policy that leaves them out is just not met, so each is a warning naming the setting.
     */
    static List<String> openSslWarnings(String[] protocols, String[] ciphers, String settings) {
        List<String> warnings = new java.util.ArrayList<>();
        int lowest = VERSIONS.size();
        int highest = -1;
        if (protocols != null) {
            for (String protocol : protocols) {
                int index = VERSIONS.indexOf(protocol);
                if (index >= 0) {
                    lowest = Math.min(lowest, index);
                    highest = Math.max(highest, index);
                }
            }
            List<String> between = new java.util.ArrayList<>();
            for (int index = lowest + 1; index < highest; index++) {
                if (!Arrays.asList(protocols).contains(VERSIONS.get(index))) {
                    between.add(VERSIONS.get(index));
                }
            }
            if (!between.isEmpty()) {
                warnings.add(settings + "enabled-protocols leaves out " + String.join(", ", between) + ", which the "
                        + "proxy offers all the same on BoringSSL (TLS on OPENSSL): it takes the lowest and the highest "
                        + "version listed and every one between them. List them all, or run the proxy on the JDK's TLS "
                        + "(-Dio.netty.handler.ssl.noOpenSsl=true), which takes the list as written");
            }
        }
        boolean tls13 = protocols == null || Arrays.asList(protocols).contains("TLSv1.3");
        if (ciphers != null && tls13) {
            List<String> named = TLS13_SUITES.stream().filter(Arrays.asList(ciphers)::contains).toList();
            // None named: TLS 1.3 is off altogether (TlsKeys#tls13WithoutSuite says so, whatever the provider).
            if (!named.isEmpty() && named.size() < TLS13_SUITES.size()) {
                warnings.add(settings + "ciphers names only "
                        + String.join(", ", named) + " of the TLS 1.3 suites, but the proxy offers every one ("
                        + String.join(", ", TLS13_SUITES) + ") on BoringSSL (TLS on OPENSSL), whose TLS 1.3 suites "
                        + "cannot be chosen. Leave TLSv1.3 out of " + settings + "enabled-protocols, or run the proxy on the "
                        + "JDK's TLS (-Dio.netty.handler.ssl.noOpenSsl=true), which takes the list as written");
            }
        }
        return warnings;
    }

    /** The cipher suites the current context offers, in order (Java's names). */
    List<String> cipherSuites() {
        return context.cipherSuites();
    }

    /**
     * A handshake of {@code server} with a client of this JVM's defaults, in memory, so that a setting no client can
     * handshake with stops startup (or a bundle reload) instead of failing every connection silently: a certificate
     * paired with the wrong key, cipher or protocol names the provider does not know, only protocols no current
     * client accepts (TLSv1.1) — each started cleanly and then failed every handshake, found by an attacking helper.
     *
     * @throws SSLException with the handshake's own reason
     */
    static void selfCheck(SslContext server) throws SSLException {
        SslContext client = SslContextBuilder.forClient().sslProvider(provider())
                .trustManager(InsecureTrustManagerFactory.INSTANCE).build();
        SSLEngine serverEngine = server.newEngine(ByteBufAllocator.DEFAULT);
        SSLEngine clientEngine = client.newEngine(ByteBufAllocator.DEFAULT, "localhost", 443);
        try {
            TlsKeys.handshake(serverEngine, clientEngine);
        } finally {
            ReferenceCountUtil.release(serverEngine);
            ReferenceCountUtil.release(clientEngine);
            ReferenceCountUtil.release(client);
        }
    }

    /** {@code server.ssl.*} gives no TLS the proxy can serve; Spring Boot's startup report says why. */
    static final class ProxyTlsException extends IllegalStateException {
        ProxyTlsException(Throwable cause) {
            super("server.ssl.* gives the proxy no usable TLS: " + TlsKeys.reason(cause), cause);
        }
    }

    /**
     * Whether {@code first} can begin an HTTP request: a method is a token (RFC 9110 §9.1), letters in practice, and an
     * empty line before the request line is allowed (RFC 9112 §2.2).
     */
    static boolean startsRequest(byte first) {
        return first >= 'A' && first <= 'Z' || first >= 'a' && first <= 'z' || first == '\r' || first == '\n';
    }

    /** BoringSSL where Netty can load it, else the JDK's TLS. */
    static SslProvider provider() {
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    private static ClientAuth clientAuth(Ssl.ClientAuth clientAuth) {
        if (clientAuth == null) {
            return ClientAuth.NONE;
        }
        return switch (clientAuth) {
            case NONE -> ClientAuth.NONE;
            case WANT -> ClientAuth.OPTIONAL;
            case NEED -> ClientAuth.REQUIRE;
        };
    }

    /**
     * The first handler of a new client connection's pipeline: TLS, or nginx's 400 for plain HTTP.
     *
     * @param handshakeFailed told of each failed handshake, on the connection's event loop
     */
    ChannelHandler newHandler(Runnable handshakeFailed) {
        SslContext current = context;
        return new OptionalSslHandler(current) {
            @Override
            protected SslHandler newSslHandler(ChannelHandlerContext ctx, SslContext sslContext) {
                SslHandler handler = super.newSslHandler(ctx, sslContext);
                handler.setHandshakeTimeoutMillis(handshakeTimeoutMillis);
                handler.handshakeFuture().addListener(done -> {
                    if (!done.isSuccess()) {
                        handshakeFailed.run();
                    } else if (quickAck != null) {
                        // The client's Finished is ACKed at once rather than after the delayed-ACK timer: a client
                        // that writes its request separately and leaves Nagle on (ab, Python's ssl) would otherwise
                        // wait ~40 ms for that ACK before its request left (measured: 47 ms a request against
                        // nginx's 1 ms, whose session tickets after the handshake carry the ACK).
                        ctx.channel().config().setOption(quickAck, true);
                    }
                });
                return handler;
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) throws Exception {
                // Still here: fewer than a record header's 5 bytes came, so neither a TLS handler nor the plain-HTTP
                // answer took over. Some bytes and then the close (the client's, or client-header-timeout's) is a
                // handshake that failed; none at all is a bare connect (a TCP health check), not counted.
                if (actualReadableBytes() > 0) {
                    handshakeFailed.run();
                }
                super.channelInactive(ctx);
            }

            @Override
            protected ChannelHandler newNonSslHandler(ChannelHandlerContext ctx) {
                // No handshake at all: counted with the failed ones, as HAProxy logs it ("SSL handshake failure").
                handshakeFailed.run();
                return new PlainHttpRefusal();
            }
        };
    }

    /**
     * Closes a connection whose TLS engine failed on a record after the handshake without telling the pipeline.
     * BoringSSL (Netty's OpenSSL engine, 4.2.18) answers a record it cannot accept (a bad MAC, an unencrypted alert, a
     * malformed record) with its fatal alert and keeps the error for the connection's next write, so a client that
     * then said nothing held the connection until a timeout (found by an attacking helper; minutes with
     * {@code keep-alive-timeout}). The engine then reports its input shut (OpenSSL's {@code SSL_get_shutdown}) while
     * {@link SSLEngine#isInboundDone()}, true after a {@code close_notify}, stays false. The JDK's engine throws
     * instead, and the connection is closed as for any failed read.
     * <p>Placed after the TLS handler; looks once per read batch (a JNI call). The close goes through the whole
     * pipeline, so {@link CloseGuard} still resets a body it would cut.
     */
    @ChannelHandler.Sharable
    static final class FailedRecordCheck extends ChannelInboundHandlerAdapter {

        static final FailedRecordCheck INSTANCE = new FailedRecordCheck();

        private FailedRecordCheck() {
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            SslHandler tls = ctx.pipeline().get(SslHandler.class);
            if (tls != null && failedSilently(tls.engine())) {
                log.debug("TLS connection {} sent a record its engine refused: closed", ctx.channel().remoteAddress());
                ctx.channel().close();
                return;
            }
            ctx.fireChannelReadComplete();
        }

        static boolean failedSilently(SSLEngine engine) {
            if (!(engine instanceof ReferenceCountedOpenSslEngine openSsl) || engine.isInboundDone()) {
                return false;
            }
            synchronized (openSsl) { // the engine's own lock: its pointer is freed under it
                long ssl = openSsl.sslPointer();
                return ssl != 0 && (SSL.getShutdown(ssl) & SSL.SSL_RECEIVED_SHUTDOWN) != 0;
            }
        }
    }

    /**
     * Answers a connection that spoke plain HTTP to the TLS port, then closes it; reads nothing more. One whose first
     * byte cannot start an HTTP request (an SSLv2-format hello, which no TLS version this proxy speaks uses, or any
     * other binary) is closed without an answer: an HTTP text would be no answer to it (a testssl.sh finding), and
     * nginx's OpenSSL ends such a handshake the same way.
     */
    private static final class PlainHttpRefusal extends ChannelInboundHandlerAdapter {
        private boolean answered;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object message) {
            boolean http = !(message instanceof ByteBuf bytes) || !bytes.isReadable()
                    || startsRequest(bytes.getByte(bytes.readerIndex()));
            ReferenceCountUtil.release(message);
            if (!answered && !http) {
                answered = true;
                ctx.close();
            } else if (!answered) {
                answered = true;
                ctx.channel().config().setAutoRead(false);
                ByteBuf answer = Unpooled.copiedBuffer(PLAIN_HTTP_REFUSED, StandardCharsets.US_ASCII);
                ChannelFuture written = ctx.writeAndFlush(answer);
                ClientTimeouts.boundClose(written, LingeringClose.TIME_NANOS);
                written.addListener(ChannelFutureListener.CLOSE);
            }
        }
    }
}
