package org.forestbus.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.UUID;
import javax.inject.Inject;
import org.apache.karaf.features.FeaturesService;
import org.forestbus.api.NodeInfo;
import org.forestbus.api.TopicRegistry;
import org.forestbus.api.TopicService;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;

/** Boots the real distribution once and drives it as users do: Config Admin, HTTP, shell, bundle updates. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ForestBusIT extends KarafTestSupport {

    @Inject
    BundleContext bundleContext;

    @Inject
    ConfigurationAdmin configAdmin;

    @Inject
    FeaturesService features;

    @Inject
    TopicRegistry registry;

    @Inject
    NodeInfo node;

    @Configuration
    public Option[] config() {
        return karafOptions();
    }

    private static final Duration BOOT = Duration.ofSeconds(60);

    /** A unique topic per test: retried or re-run tests never see old state. */
    private String createTopic() throws Exception {
        String name = "it-" + UUID.randomUUID().toString().substring(0, 8);
        org.osgi.service.cm.Configuration cfg = configAdmin.getFactoryConfiguration("org.forestbus.topic", name, "?");
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("topic.name", name);
        cfg.update(props);
        await().atMost(BOOT).until(() -> registry.topic(name).isPresent());
        return name;
    }

    private void awaitHttp() {
        await().atMost(BOOT).ignoreExceptions().until(() -> get("/health").statusCode() == 200);
    }

    @Test
    public void featureIsInstalledAndTheDefaultTopicRuns() throws Exception {
        assertTrue(features.isInstalled(features.getFeature("forestbus")));
        for (String bsn : new String[] {"org.forestbus.api", "org.forestbus.commitlog", "org.forestbus.raft",
                "org.forestbus.config", "org.forestbus.http", "org.forestbus.cbor", "org.forestbus.shell"}) {
            Bundle b = bundle(bsn);
            assertNotNull("bundle " + bsn, b);
            assertEquals(bsn + " state", Bundle.ACTIVE, b.getState());
        }
        await().atMost(BOOT).until(() -> registry.topic("default").isPresent());
        assertEquals("node1", node.nodeName());
    }

    @Test
    public void topicCreatedThroughConfigAdminServesHttpSendAndRead() throws Exception {
        String topic = createTopic();
        awaitHttp();
        for (int i = 0; i < 3; i++) {
            var sent = postJson("/topics/" + topic + "/messages",
                    "{\"messages\":[\"a" + i + "\",\"b" + i + "\"],\"waitForCommit\":true}");
            assertEquals(sent.body(), 200, sent.statusCode());
            assertContains(sent.body(), ("[" + (2 * i + 1) + "," + (2 * i + 2) + "]"));
        }
        var read = get("/topics/" + topic + "/messages?from=2&max=3");
        assertEquals(read.body(), 200, read.statusCode());
        assertContains(read.body(), ("{\"id\":2,\"data\":\"b0\"}"));
        assertContains(read.body(), ("{\"id\":4,\"data\":\"b1\"}"));
        assertContains(read.body(), ("\"nextId\":5"));
        var info = get("/topics/" + topic);
        assertContains(info.body(), ("\"commitIndex\":6"));
        assertContains(info.body(), ("\"role\":\"leader\""));
        assertEquals(404, get("/topics/no-such-topic").statusCode());
    }

    @Test
    public void shellCommandsShowAndMoveMessages() throws Exception {
        String topic = createTopic();
        String sent = executeCommand("forestbus:send " + topic + " hello world");
        assertContains(sent, ("1 2"));
        String got = executeCommand("forestbus:get --from 2 " + topic);
        assertContains(got, ("2\tworld"));
        assertContains(got, ("next index: 3"));
        String listing = executeCommand("forestbus:topics --no-format");
        assertContains(listing, (topic));
        String info = executeCommand("forestbus:topic-info " + topic);
        assertContains(info, ("Commit index : 2"));
        assertContains(info, ("Voters       : node1"));
        try {
            executeCommand("forestbus:topic-member-add " + topic + " node9");
            throw new AssertionError("adding a node that is not in the cluster must fail");
        } catch (Exception e) {
            assertContains(String.valueOf(e.getMessage()), "node9 is not a node of this cluster");
        }
        var members = get("/topics/" + topic + "/members");
        assertEquals(members.body(), 200, members.statusCode());
        assertContains(members.body(), "\"voters\":[\"node1\"]");
    }

    @Test
    public void updatingTheCommitLogBundleKeepsAcknowledgedData() throws Exception {
        String topic = createTopic();
        awaitHttp();
        var sent = postJson("/topics/" + topic + "/messages", "{\"messages\":[\"kept-1\",\"kept-2\"]}");
        assertEquals(sent.body(), 200, sent.statusCode());

        Bundle commitlog = bundle("org.forestbus.commitlog");
        commitlog.update();
        assertEquals(Bundle.ACTIVE, commitlog.getState());

        // the topic is re-created on the new storage bundle and reopens its files
        await().atMost(BOOT).ignoreExceptions().until(
                () -> get("/topics/" + topic + "/messages?from=1").body().contains("kept-2"));
        var after = postJson("/topics/" + topic + "/messages", "{\"messages\":[\"after\"]}");
        assertEquals(after.body(), 200, after.statusCode());
        assertContains(after.body(), ("[3]"));
    }

    @Test
    public void restartingTheTransportBundleLeavesTopicsRunning() throws Exception {
        String topic = createTopic();
        awaitHttp();
        String filter = "(" + TopicService.TOPIC_NAME + "=" + topic + ")";
        Object before = bundleContext.getServiceReferences(TopicService.class, filter).iterator().next()
                .getProperty("service.id");
        Bundle transport = bundle("org.forestbus.transport");
        transport.stop();
        transport.start();
        assertEquals(Bundle.ACTIVE, transport.getState());
        Object after = bundleContext.getServiceReferences(TopicService.class, filter).iterator().next()
                .getProperty("service.id");
        assertEquals("the topic component was not re-created", before, after);
        var sent = postJson("/topics/" + topic + "/messages", "{\"messages\":[\"still-here\"]}");
        assertEquals(sent.body(), 200, sent.statusCode());
    }

    @Test
    public void deletingTheConfigurationStopsTheTopicAndRecreatingItKeepsData() throws Exception {
        String topic = createTopic();
        executeCommand("forestbus:send " + topic + " one");
        String deleted = executeCommand("forestbus:topic-delete " + topic);
        assertContains(deleted, ("deleted"));
        await().atMost(BOOT).until(() -> registry.topic(topic).isEmpty());
        executeCommand("forestbus:topic-create " + topic);
        await().atMost(BOOT).until(() -> registry.topic(topic).isPresent());
        assertContains(executeCommand("forestbus:get " + topic), ("1\tone"));
    }

    private static void assertContains(String actual, String expected) {
        assertTrue("expected to contain <" + expected + "> but was <" + actual + ">", actual.contains(expected));
    }

    private Bundle bundle(String bsn) {
        for (Bundle b : bundleContext.getBundles()) {
            if (b.getSymbolicName().equals(bsn)) {
                return b;
            }
        }
        return null;
    }
}
