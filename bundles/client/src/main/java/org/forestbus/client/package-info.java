/**
 * Forest Bus Java client library (FORESTBUS-SPEC §6–§7): {@link org.forestbus.client.ForestBusClient}
 * speaks CBOR-RPC (Go {@code net/rpc} framing) to the nodes' CBOR listeners, with pipelined calls,
 * leader redirection and retries; {@link org.forestbus.client.MessageBatcher} batches single-message
 * sends; {@link org.forestbus.client.Follower} long-polls a topic. Usable as a plain jar (needs only
 * jackson-core and jackson-dataformat-cbor) or as an OSGi bundle.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.forestbus.client;
