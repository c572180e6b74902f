package dev.shepherd.fleet;

import io.netty.channel.ChannelException;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ProtocolException;
import java.net.SocketException;

import static org.assertj.core.api.Assertions.assertThat;

class OutOfDescriptorsTests {

    @Test
    void theJdksSocketExceptionSaysItWrappedOrNot() {
        assertThat(OutOfDescriptors.causedIt(new SocketException("Too many open files"))).isTrue();
        assertThat(OutOfDescriptors.causedIt(new SocketException("Too many open files in system"))).isTrue();
        assertThat(OutOfDescriptors.causedIt(new ChannelException("Unable to create Channel",
                new SocketException("Too many open files")))).isTrue();
    }

    @Test
    void nettysNativeErrorSaysIt() {
        Epoll.ensureAvailability(); // loads the native library whose strerror names the error
        assertThat(OutOfDescriptors.causedIt(new ChannelException(new Errors.NativeIoException("newSocketStream", -24))))
                .isTrue();
        assertThat(OutOfDescriptors.causedIt(new Errors.NativeIoException("connect", -111))).as("ECONNREFUSED").isFalse();
    }

    @Test
    void textThatMayQuoteAWorkerOrAnythingElseDoesNot() {
        assertThat(OutOfDescriptors.causedIt(new ProtocolException("Invalid status line: \"Too many open files\"")))
                .isFalse();
        assertThat(OutOfDescriptors.causedIt(new IOException("Too many open files"))).isFalse();
        assertThat(OutOfDescriptors.causedIt(new SocketException("Connection refused"))).isFalse();
        assertThat(OutOfDescriptors.causedIt(null)).isFalse();
    }
}
