package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

/**
 * {@link ExchangeRecord}: the access-log line and the request metrics by how an exchange ended, the status each
 * gives when no response had begun (nginx's 499 and 444, a refusal's own), with a response whose state is faked.
 */
class ExchangeRecordTests {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final AccessLog accessLog = new AccessLog(registry, lines::add, ZoneOffset.UTC);
    private final ProxyContext proxy = new ProxyContext(TunnelTests.properties(Map.of()), null, null,
            new ProxyMetrics(registry), null, null, null, null, () -> 0, false, accessLog);
    private final ResponseRelay relay = mock(ResponseRelay.class);
    private final Endpoint worker = mock(Endpoint.class);
    private final ExchangeRecord record = record();

    @AfterEach
    void close() {
        accessLog.close();
    }

    @Test
    void aClientGoneBeforeAnyResponseIsLogged499AndCountedAsClientClosed() {
        record.stopped(0, false, null, 1);

        assertThat(line()).contains("\"GET /page HTTP/1.1\" 499 0 ").endsWith(" worker=- attempts=1");
        assertThat(requests("client-closed", "4xx")).isEqualTo(1);
    }

    @Test
    void aConnectionTheShutdownCutBeforeAnyResponseIsLogged444AndCountedAsTheProxysFailure() {
        record.stopped(0, true, null, 0);

        assertThat(line()).contains("\" 444 0 ");
        assertThat(requests("proxy-error", "4xx")).isEqualTo(1);
        assertThat(requests("client-closed", "4xx")).isZero();
    }

    @Test
    void aRefusalBeforeAnyResponseIsLoggedWithItsStatusAndCountedAsTheClientsDoing() {
        record.stopped(408, false, null, 0);

        assertThat(line()).contains("\" 408 0 ");
        assertThat(requests("client-closed", "4xx")).isEqualTo(1);
    }

    @Test
    void onceTheResponseBeganItsStatusIsLoggedWhateverTheRefusalWithTheWorkerThatHadIt() {
        responseBegan(200, 1234);
        when(worker.workerId()).thenReturn(7);

        record.stopped(400, true, worker, 2);

        assertThat(line()).contains("\" 200 1234 ").endsWith(" worker=7 attempts=2");
        assertThat(requests("proxy-error", "2xx")).as("the drain's cut").isEqualTo(1);
    }

    @Test
    void aCutByTheWorkerCountsAsACutAndOneByTheProxysBodyLimitAsItsFailure() {
        responseBegan(200, 10);
        when(worker.workerId()).thenReturn(3);

        record.cut(worker, 1);
        record.cut(null, 1);

        await().atMost(Duration.ofSeconds(5)).until(() -> lines.size() == 2);
        assertThat(lines.get(0)).contains("\" 200 10 ").endsWith(" worker=3 attempts=1");
        assertThat(lines.get(1)).contains("\" 200 10 ").endsWith(" worker=- attempts=1");
        assertThat(requests("cut", "2xx")).isEqualTo(1);
        assertThat(requests("proxy-error", "2xx")).isEqualTo(1);
    }

    @Test
    void theProxysOwnAnswerIsLoggedWithNoWorkerAndAWholeResponseAsARetryAfterTwoAttempts() {
        record.failed(HttpResponseStatus.SERVICE_UNAVAILABLE, 1);
        assertThat(line()).contains("\" 503 0 ").endsWith(" worker=- attempts=1");
        assertThat(requests("proxy-error", "5xx")).isEqualTo(1);

        lines.clear();
        responseBegan(204, 0);
        when(worker.workerId()).thenReturn(4);
        record.completed(worker, 2);
        assertThat(line()).contains("\" 204 0 ").endsWith(" worker=4 attempts=2");
        assertThat(requests("retried", "2xx")).isEqualTo(1);
    }

    private ExchangeRecord record() {
        DefaultHttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/page");
        request.headers().set(HttpHeaderNames.HOST, "x");
        InetSocketAddress local = new InetSocketAddress("127.0.0.1", 80);
        RequestHead head = RequestHead.prepare(request, new ForwardedHeaders("192.0.2.7", false, "80"), Set.of(), local);
        ClientHandler client = mock(ClientHandler.class);
        when(client.peer()).thenReturn("192.0.2.7");
        RequestClient sender = new RequestClient(proxy, client, null, head);
        ResponseSpooling spooling = new ResponseSpooling(proxy, client, null, relay, null);
        return new ExchangeRecord(proxy, head, sender, relay, spooling, System.nanoTime(), -1);
    }

    private void responseBegan(int status, long bodyBytes) {
        when(relay.started()).thenReturn(true);
        when(relay.status()).thenReturn(status);
        when(relay.bodyBytes()).thenReturn(bodyBytes);
    }

    /** The one line logged, once the access log's writer has it. */
    private String line() {
        await().atMost(Duration.ofSeconds(5)).until(() -> !lines.isEmpty());
        assertThat(lines).hasSize(1);
        return lines.get(0);
    }

    private double requests(String outcome, String status) {
        return registry.find("shepherd.proxy.requests").tags("outcome", outcome, "status", status).functionTimers()
                .stream().mapToDouble(FunctionTimer::count).sum();
    }
}
