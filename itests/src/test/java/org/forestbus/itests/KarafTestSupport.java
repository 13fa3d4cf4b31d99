package org.forestbus.itests;

import static org.ops4j.pax.exam.CoreOptions.maven;
import static org.ops4j.pax.exam.CoreOptions.mavenBundle;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.configureConsole;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.karafDistributionConfiguration;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.logLevel;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.inject.Inject;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.karaf.options.LogLevelOption.LogLevel;

/**
 * Boots our Karaf distribution (the tar.gz built by karaf-distribution) on free ports. Ports are
 * chosen in the test JVM and handed to the container as system properties.
 */
public abstract class KarafTestSupport {

    static final String HTTP_PORT = "forestbus.itest.http.port";
    static final String CBOR_PORT = "forestbus.itest.cbor.port";

    @Inject
    protected SessionFactory sessionFactory;

    protected final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    protected Option[] karafOptions(Option... extra) {
        String http = String.valueOf(freePort());
        String cbor = String.valueOf(freePort());
        List<Option> options = new ArrayList<>(List.of(
                karafDistributionConfiguration()
                        .frameworkUrl(maven().groupId("org.forestbus").artifactId("forestbus-karaf-distribution")
                                .type("tar.gz").versionAsInProject())
                        .unpackDirectory(new File("target/exam"))
                        .useDeployFolder(false),
                configureConsole().ignoreLocalConsole(),
                logLevel(LogLevel.INFO),
                editConfigurationFilePut("etc/org.forestbus.http.cfg", "port", http),
                editConfigurationFilePut("etc/org.forestbus.cbor.cfg", "port", cbor),
                editConfigurationFilePut("etc/org.forestbus.node.cfg", "http.address", "localhost:" + http),
                editConfigurationFilePut("etc/org.forestbus.node.cfg", "cbor.address", "localhost:" + cbor),
                editConfigurationFilePut("etc/org.apache.karaf.shell.cfg", "sshPort", String.valueOf(freePort())),
                editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", "org.ops4j.pax.url.mvn.localRepository",
                        System.getProperty("org.ops4j.pax.url.mvn.localRepository", "")),
                systemProperty(HTTP_PORT).value(http),
                systemProperty(CBOR_PORT).value(cbor),
                mavenBundle().groupId("org.awaitility").artifactId("awaitility").versionAsInProject(),
                mavenBundle().groupId("org.hamcrest").artifactId("hamcrest").versionAsInProject()));
        options.addAll(List.of(extra));
        return options.toArray(new Option[0]);
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    protected URI url(String path) {
        return URI.create("http://127.0.0.1:" + System.getProperty(HTTP_PORT) + path);
    }

    protected HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(url(path)).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    protected HttpResponse<String> postJson(String path, String json) throws Exception {
        return http.send(HttpRequest.newBuilder(url(path)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Runs a shell command in a real Karaf session and returns what it printed. */
    protected String executeCommand(String command) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            Session session = sessionFactory.create(System.in, out, out);
            Object result = session.execute(command);
            if (result != null) {
                out.println(result);
            }
            session.close();
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
