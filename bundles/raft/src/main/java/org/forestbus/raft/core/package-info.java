/**
 * Pure, deterministic Raft for one topic's group (etcd-raft style): {@link org.forestbus.raft.core.RaftNode}
 * takes {@code tick()}, {@code step(Message)}, {@code propose(MessageBatch)},
 * {@code transferLeadership}, {@code proposeMembership} and hands back
 * {@link org.forestbus.raft.core.Ready}s. No threads, clocks, global randomness, files or
 * sockets; not exported (a private package of the raft bundle).
 *
 * <p>Driver loop (see {@link org.forestbus.raft.core.Ready} for the exact order):
 * <pre>
 * while (node.hasReady()) {
 *     Ready rd = node.ready();
 *     if (rd.resetTo() != 0) store.resetTo(rd.resetTo()); else if (rd.truncateFrom() != 0) store.truncateFrom(rd.truncateFrom());
 *     if (rd.membership() != null) saveMembership(rd.membership());
 *     rd.entries().forEach(store::append);
 *     if (!rd.entries().isEmpty()) store.sync().join();
 *     if (rd.hardState() != null) store.saveHardState(rd.hardState());
 *     rd.messages().forEach(transport::send);
 *     completeClients(rd.commitIndex());   // proposal (first, n, term) done when last &lt;= commit and termAt(last) == term
 *     node.advance(rd);
 * }
 * </pre>
 * Inputs that arrive between {@code ready()} and {@code advance()} must be queued and fed
 * afterwards (all of them, then one Ready). Retention ({@code LogStore.applyRetention}) may run
 * between Readies with {@code node.commitIndex()} as the bound.
 */
package org.forestbus.raft.core;
