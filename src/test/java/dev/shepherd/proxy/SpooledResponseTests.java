package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class SpooledResponseTests {

    @TempDir
    Path directory;

    private final EmbeddedChannel client = new EmbeddedChannel(new ChannelInboundHandlerAdapter());

    @AfterEach
    void closeClient() {
        client.finishAndReleaseAll();
    }

    /** Parts come out in order, a chunk a write while the client's connection is writable, then the file is empty. */
    @Test
    void partsComeOutInOrderWhileTheClientTakesThem() throws Exception {
        BodySpool spool = BodySpool.forResponses(directory.toString(), 0, 0);
        SpooledResponse response = SpooledResponse.open(spool);
        ChannelHandlerContext raw = client.pipeline().firstContext();
        // Unwritable past 100 KiB pending: the first drain gives two chunks (the second passes the mark), not all.
        client.config().setWriteBufferWaterMark(new WriteBufferWaterMark(1, 100 * 1024));
        byte[] body = new byte[200 * 1024 + 7];
        for (int i = 0; i < body.length; i++) {
            body[i] = (byte) (i % 251);
        }
        for (int at = 0; at < body.length; at += 10_000) {
            assertThat(response.append(Unpooled.wrappedBuffer(body, at, Math.min(10_000, body.length - at)))).isTrue();
        }
        assertThat(spool.bytes()).isEqualTo(body.length);

        ByteArrayOutputStream received = new ByteArrayOutputStream();
        assertThat(response.drain(raw)).as("stopped at the high-water mark").isFalse();
        take(received);
        assertThat(response.drain(raw)).isTrue();
        take(received);

        assertThat(received.toByteArray()).isEqualTo(body);
        assertThat(response.holds()).isFalse();
        assertThat(spool.bytes()).as("the emptied file's space is given back").isZero();
        response.close();
    }

    /** Past the bound a part is still kept (it was read, and what follows comes after it), but said so. */
    @Test
    void pastTheBoundAPartIsKeptUncountedAndSaidSo() throws Exception {
        BodySpool spool = BodySpool.forResponses(directory.toString(), 10, 0);
        SpooledResponse response = SpooledResponse.open(spool);

        assertThat(response.append(ascii("123456"))).isTrue();
        assertThat(response.append(ascii("789abc"))).as("6 + 6 > 10").isFalse();
        assertThat(spool.bytes()).isEqualTo(6);
        assertThat(spool.tryReserve(5)).isFalse();

        ByteArrayOutputStream received = new ByteArrayOutputStream();
        assertThat(response.drain(client.pipeline().firstContext())).isTrue();
        take(received);
        assertThat(received.toString(StandardCharsets.US_ASCII)).isEqualTo("123456789abc");
        assertThat(spool.bytes()).isZero();
        // Emptied, the file starts again from nothing: a long stream does not grow it for ever.
        assertThat(response.append(ascii("next"))).isTrue();
        assertThat(response.drain(client.pipeline().firstContext())).isTrue();
        take(received);
        assertThat(received.toString(StandardCharsets.US_ASCII)).endsWith("abcnext");
    }

    /**
     * Found by a re-attacking helper: one response took the whole spool, and other slow clients held their workers
     * again. Past the bound per file, its worker waits (false) while other responses still have room; the file
     * emptied, it takes parts again.
     */
    @Test
    void pastTheBoundPerFileItsWorkerWaitsWhileOthersStillHaveRoom() throws Exception {
        BodySpool spool = BodySpool.forResponses(directory.toString(), 100, 10);
        SpooledResponse large = SpooledResponse.open(spool);
        SpooledResponse other = SpooledResponse.open(spool);

        assertThat(large.append(ascii("123456"))).isTrue();
        assertThat(large.append(ascii("789abc"))).as("6 + 6 > 10 in one file").isFalse();
        assertThat(spool.bytes()).isEqualTo(6);
        assertThat(other.append(ascii("other"))).as("the spool has room for another").isTrue();

        ByteArrayOutputStream received = new ByteArrayOutputStream();
        assertThat(large.drain(client.pipeline().firstContext())).isTrue();
        take(received);
        assertThat(received.toString(StandardCharsets.US_ASCII)).isEqualTo("123456789abc");
        assertThat(spool.bytes()).as("the other's").isEqualTo(5);
        assertThat(large.append(ascii("next-part!"))).as("emptied, it starts again from nothing").isTrue();
        large.close();
        other.close();
        assertThat(spool.bytes()).isZero();
    }

    /**
     * A full disk: the parts wait in memory behind what the file holds, and the worker waits (false), where the
     * response was cut (a re-attacking helper's 1 MB tmpfs cut every 20 MB download, fast clients' too).
     */
    @Test
    void partsThatCannotBeWrittenWaitInMemoryInOrder() throws Exception {
        Path full = Path.of("/dev/full");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isWritable(full), "needs /dev/full");
        BodySpool spool = BodySpool.forResponses(directory.toString(), 0, 0);
        SpooledResponse response = new SpooledResponse(spool, java.nio.channels.FileChannel.open(full,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE));

        assertThat(response.append(ascii("abc"))).isFalse();
        assertThat(response.append(ascii("def"))).isFalse();
        assertThat(response.pending()).isEqualTo(6);
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        assertThat(response.drain(client.pipeline().firstContext())).isTrue();
        take(received);

        assertThat(received.toString(StandardCharsets.US_ASCII)).isEqualTo("abcdef");
        assertThat(response.holds()).isFalse();
        assertThat(response.append(ascii("ghi"))).as("the file is tried again").isFalse();
        response.close();
        assertThat(spool.bytes()).isZero();
    }

    @Test
    void closingGivesBackWhatItHeld() throws Exception {
        BodySpool spool = BodySpool.forResponses(directory.toString(), 0, 0);
        SpooledResponse response = SpooledResponse.open(spool);
        response.append(ascii("held"));

        response.close();
        response.close();

        assertThat(spool.bytes()).isZero();
    }

    private void take(ByteArrayOutputStream received) {
        client.runPendingTasks();
        for (ByteBuf written = client.readOutbound(); written != null; written = client.readOutbound()) {
            byte[] bytes = new byte[written.readableBytes()];
            written.readBytes(bytes);
            received.writeBytes(bytes);
            written.release();
        }
    }

    private static ByteBuf ascii(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII);
    }
}
