package org.forestbus.http.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.annotation.Annotation;
import org.junit.jupiter.api.Test;

class SettingsTest {

    /** An HttpConfig with distinct values per property, so a swapped mapping shows. */
    private static HttpConfig config(int port, long maxWait) {
        return new HttpConfig() {
            @Override public Class<? extends Annotation> annotationType() { return HttpConfig.class; }
            @Override public String host() { return "10.1.2.3"; }
            @Override public int port() { return port; }
            @Override public long max_request_bytes() { return 1001; }
            @Override public int max_messages_per_request() { return 1002; }
            @Override public int max_read_messages() { return 1003; }
            @Override public int max_read_bytes() { return 1004; }
            @Override public long max_wait_ms() { return maxWait; }
            @Override public long idle_timeout_ms() { return 1006; }
            @Override public int max_threads() { return 17; }
            @Override public long stop_timeout_ms() { return 1008; }
            @Override public long max_buffered_send_bytes() { return 1009; }
        };
    }

    @Test
    void everyPropertyMapsToItsField() {
        Settings s = Settings.from(config(8123, 1005));
        assertThat(s).isEqualTo(new Settings("10.1.2.3", 8123, 1001, 1002, 1003, 1004, 1005, 1006, 17, 1008, 1009));
    }

    @Test
    void invalidValuesAreRejectedNamingTheProperty() {
        assertThatThrownBy(() -> Settings.from(config(70000, 1005))).hasMessageContaining("port = 70000");
        assertThatThrownBy(() -> Settings.from(config(0, -1))).hasMessageContaining("max.wait.ms = -1");
        assertThatThrownBy(() -> Settings.defaults().withMaxThreads(2)).hasMessageContaining("max.threads");
        assertThatThrownBy(() -> Settings.defaults().withMaxBufferedSendBytes(0)).hasMessageContaining("max.buffered.send.bytes");
        assertThatThrownBy(() -> Settings.defaults().withMaxRequestBytes(3L << 30)).hasMessageContaining("max.request.bytes");
    }

    @Test
    void testDefaultsMatchTheDocumentedOnes() {
        Settings d = Settings.defaults();
        assertThat(d.maxRequestBytes()).isEqualTo(16L << 20);
        assertThat(d.maxMessagesPerRequest()).isEqualTo(10_000);
        assertThat(d.maxReadMessages()).isEqualTo(500);
        assertThat(d.maxReadBytes()).isEqualTo(4 << 20);
        assertThat(d.maxWaitMs()).isEqualTo(60_000);
    }
}
