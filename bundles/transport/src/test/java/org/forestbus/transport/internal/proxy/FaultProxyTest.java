package org.forestbus.transport.internal.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.forestbus.transport.internal.proxy.FaultProxy.Direction;
import org.junit.jupiter.api.Test;

class FaultProxyTest {

    private static byte[] read(Socket s, int n) throws IOException {
        byte[] b = new byte[n];
        new DataInputStream(s.getInputStream()).readFully(b);
        return b;
    }

    private static void write(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        s.getOutputStream().flush();
    }

    private static String readText(Socket s, int n) throws IOException {
        return new String(read(s, n), StandardCharsets.UTF_8);
    }

    @Test
    void everyModeDoesWhatItSays() throws Exception {
        long seed = System.nanoTime();
        try (ServerSocket target = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
             FaultProxy proxy = FaultProxy.start(target.getLocalPort(), seed);
             Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
             Socket server = target.accept()) {
            client.setSoTimeout(3000);
            server.setSoTimeout(3000);

            write(client, "hello");
            assertThat(readText(server, 5)).isEqualTo("hello");
            write(server, "hi");
            assertThat(readText(client, 2)).isEqualTo("hi");

            // delay: nothing arrives before the base delay, jitter never reorders
            proxy.delay(100, 0);
            long t0 = System.nanoTime();
            write(client, "x");
            assertThat(readText(server, 1)).isEqualTo("x");
            assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(Duration.ofMillis(95).toNanos());
            proxy.delay(10, 9);
            for (int i = 0; i < 100; i++) {
                client.getOutputStream().write(i);
            }
            byte[] got = read(server, 100);
            for (int i = 0; i < 100; i++) {
                assertThat(got[i]).as("seed %d", seed).isEqualTo((byte) i);
            }

            // one-way cut drops bytes (not buffered) while the other direction flows
            proxy.pass();
            proxy.cut(Direction.FORWARD);
            write(client, "lost");
            write(server, "back");
            assertThat(readText(client, 4)).isEqualTo("back");
            server.setSoTimeout(300);
            assertThatThrownBy(() -> read(server, 1)).isInstanceOf(SocketTimeoutException.class);
            proxy.pass();
            server.setSoTimeout(3000);
            write(client, "after");
            assertThat(readText(server, 5)).isEqualTo("after");

            // byte flip
            proxy.corruptAfter(Direction.FORWARD, 2);
            client.getOutputStream().write(new byte[] {1, 2, 3, 4});
            assertThat(read(server, 4)).containsExactly(1, 2, (byte) ~3, 4);

            // pause holds bytes (TCP backpressure), pass releases them
            proxy.pause(Direction.FORWARD);
            write(client, "p");
            server.setSoTimeout(300);
            assertThatThrownBy(() -> read(server, 1)).isInstanceOf(SocketTimeoutException.class);
            proxy.pass();
            server.setSoTimeout(3000);
            assertThat(readText(server, 1)).isEqualTo("p");

            // blackhole: both directions swallowed, the connection stays open
            proxy.blackhole();
            write(client, "z");
            write(server, "y");
            client.setSoTimeout(300);
            server.setSoTimeout(300);
            assertThatThrownBy(() -> read(server, 1)).isInstanceOf(SocketTimeoutException.class);
            assertThatThrownBy(() -> read(client, 1)).isInstanceOf(SocketTimeoutException.class);
            assertThat(proxy.openConnections()).isEqualTo(1);

            // reset: both ends see the connection die
            proxy.resetAll();
            client.setSoTimeout(3000);
            assertThat(endOrReset(client)).isTrue();
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.openConnections() == 0);
            assertThat(proxy.acceptedConnections()).isEqualTo(1);
        }
    }

    private static boolean endOrReset(Socket s) throws IOException {
        try {
            return s.getInputStream().read() < 0;
        } catch (SocketException e) {
            return true;
        }
    }
}
