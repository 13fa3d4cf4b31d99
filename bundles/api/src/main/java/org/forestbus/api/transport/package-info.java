/**
 * Peer transport contracts: moving opaque per-topic frames between the nodes of a cluster
 * ({@link org.forestbus.api.transport.PeerTransport}). Raft message types and their codec are
 * not part of the API: the transport never looks inside a payload.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.forestbus.api.transport;
