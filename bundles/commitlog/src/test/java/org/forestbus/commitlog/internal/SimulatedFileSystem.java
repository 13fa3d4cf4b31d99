package org.forestbus.commitlog.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * In-memory {@link FileSystemOps} with lazyfs-like power-loss semantics. Per file it keeps the
 * durable bytes (as of the last successful force) and the ordered list of later, unsynced
 * operations; per directory the durable entries (as of the last directory fsync) beside the
 * current ones. {@link #powerLoss} keeps a random prefix of each file's unsynced operations,
 * may tear or zero-fill the next write, and resets every directory to its durable entries
 * (files never made durable in their directory vanish; deletions and renames not made durable
 * are undone).
 *
 * <p>Faults: {@link #freezeAfter} makes the n-th next mutating operation and everything after it
 * throw (the machine lost power at that instant); {@link #failNextForce}; {@link #spaceLeft}
 * (ENOSPC after a partial write).
 */
final class SimulatedFileSystem implements FileSystemOps {

    private sealed interface Op permits Write, Truncate {
    }

    private record Write(long pos, byte[] bytes) implements Op {
    }

    private record Truncate(long size) implements Op {
    }

    private static final class Inode {
        byte[] data = new byte[0];
        int len;
        byte[] durable = new byte[0];
        final List<Op> unsynced = new ArrayList<>();
        long mtime;

        void apply(Op op) {
            if (op instanceof Write w) {
                long end = w.pos() + w.bytes().length;
                ensure((int) end);
                System.arraycopy(w.bytes(), 0, data, (int) w.pos(), w.bytes().length);
                len = (int) Math.max(len, end);
            } else if (op instanceof Truncate t) {
                if (t.size() < len) {
                    Arrays.fill(data, (int) t.size(), len, (byte) 0);
                    len = (int) t.size();
                }
            }
        }

        void ensure(int n) {
            if (n > data.length) {
                data = Arrays.copyOf(data, Math.max(n, data.length * 2));
            }
            if (n > len) {
                Arrays.fill(data, len, n, (byte) 0);
            }
        }

        byte[] current() {
            return Arrays.copyOf(data, len);
        }
    }

    private final Map<Path, Inode> current = new HashMap<>();
    private Map<Path, Inode> durableDir = new HashMap<>();
    private final Set<Path> dirs = new HashSet<>();
    private long opsUntilFreeze = Long.MAX_VALUE;
    private boolean frozen;
    private boolean failNextForce;
    private long spaceLeft = Long.MAX_VALUE;
    private long generation;
    private long now;
    long mutatingOps;
    int forces;

    // ------------------------------------------------------------------ fault control

    /** The {@code n}-th next mutating operation (1 = the next) fails, and so does everything after it. */
    synchronized void freezeAfter(long n) {
        opsUntilFreeze = n;
    }

    synchronized boolean frozen() {
        return frozen;
    }

    synchronized void failNextForce() {
        failNextForce = true;
    }

    synchronized void spaceLeft(long bytes) {
        spaceLeft = bytes;
    }

    synchronized void setTime(long millis) {
        now = millis;
    }

    /**
     * Simulates a power loss and reboot. Open handles become invalid.
     *
     * @param rnd null = keep every unsynced operation (a clean "all written" state)
     */
    synchronized void powerLoss(Random rnd) {
        Map<Path, Inode> after = new HashMap<>();
        IdentityHashMap<Inode, Boolean> done = new IdentityHashMap<>();
        for (Map.Entry<Path, Inode> e : durableDir.entrySet()) {
            Inode in = e.getValue();
            if (done.put(in, Boolean.TRUE) == null) {
                crash(in, rnd);
            }
            after.put(e.getKey(), in);
        }
        // inodes only reachable through current entries vanish with those entries
        current.clear();
        current.putAll(after);
        durableDir = new HashMap<>(after);
        frozen = false;
        opsUntilFreeze = Long.MAX_VALUE;
        failNextForce = false;
        spaceLeft = Long.MAX_VALUE;
        generation++;
    }

    private static void crash(Inode in, Random rnd) {
        List<Op> ops = new ArrayList<>(in.unsynced);
        in.data = in.durable.clone();
        in.len = in.durable.length;
        int keep = rnd == null ? ops.size() : rnd.nextInt(ops.size() + 1);
        for (int i = 0; i < keep; i++) {
            in.apply(ops.get(i));
        }
        if (rnd != null && keep < ops.size() && rnd.nextBoolean() && ops.get(keep) instanceof Write w && w.bytes().length > 0) {
            int cut = rnd.nextInt(w.bytes().length) + 1;
            byte[] torn = rnd.nextBoolean() ? Arrays.copyOf(w.bytes(), cut) : new byte[cut]; // torn or zero-filled
            in.apply(new Write(w.pos(), torn));
        }
        in.durable = in.current();
        in.unsynced.clear();
    }

    /** Installs a file whose content and directory entry are durable. */
    synchronized void putDurable(Path file, byte[] content) {
        Inode in = new Inode();
        in.apply(new Write(0, content));
        in.durable = in.current();
        current.put(file, in);
        durableDir.put(file, in);
        dirs.add(file.getParent());
    }

    /** Current bytes of a file (what a read returns). */
    synchronized byte[] contents(Path file) {
        Inode in = current.get(file);
        return in == null ? null : in.current();
    }

    /** Makes everything durable (as after a clean shutdown of the OS). */
    synchronized void syncEverything() {
        powerLoss(null);
    }

    // ------------------------------------------------------------------ FileSystemOps

    private void mutating() throws IOException {
        check();
        mutatingOps++;
        if (--opsUntilFreeze <= 0) {
            frozen = true;
            throw new IOException("simulated power loss");
        }
    }

    private void check() throws IOException {
        if (frozen) {
            throw new IOException("simulated power loss (machine is down)");
        }
    }

    @Override
    public synchronized LogFile open(Path file, boolean create) throws IOException {
        check();
        Inode in = current.get(file);
        if (in == null) {
            if (!create) {
                throw new NoSuchFileException(file.toString());
            }
            mutating();
            in = new Inode();
            in.mtime = now;
            current.put(file, in);
        }
        return new SimFile(in, generation);
    }

    @Override
    public synchronized boolean exists(Path path) {
        return current.containsKey(path) || dirs.contains(path);
    }

    @Override
    public synchronized List<String> list(Path dir) throws IOException {
        check();
        List<String> out = new ArrayList<>();
        for (Path p : current.keySet()) {
            if (dir.equals(p.getParent())) {
                out.add(p.getFileName().toString());
            }
        }
        return out;
    }

    @Override
    public synchronized long size(Path file) throws IOException {
        check();
        return inode(file).len;
    }

    @Override
    public synchronized long lastModifiedMillis(Path file) throws IOException {
        check();
        return inode(file).mtime;
    }

    private Inode inode(Path file) throws IOException {
        Inode in = current.get(file);
        if (in == null) {
            throw new NoSuchFileException(file.toString());
        }
        return in;
    }

    @Override
    public synchronized void delete(Path file) throws IOException {
        inode(file);
        mutating();
        current.remove(file);
    }

    @Override
    public synchronized void rename(Path from, Path to) throws IOException {
        Inode in = inode(from);
        mutating();
        current.remove(from);
        current.put(to, in);
    }

    @Override
    public synchronized void syncDirectory(Path dir) throws IOException {
        mutating();
        durableDir.keySet().removeIf(p -> dir.equals(p.getParent()));
        for (Map.Entry<Path, Inode> e : current.entrySet()) {
            if (dir.equals(e.getKey().getParent())) {
                durableDir.put(e.getKey(), e.getValue());
            }
        }
    }

    @Override
    public synchronized void createDirectories(Path dir) throws IOException {
        check();
        for (Path p = dir; p != null; p = p.getParent()) {
            dirs.add(p);
        }
    }

    private final class SimFile implements LogFile {
        private final Inode in;
        private final long gen;
        private boolean closed;

        SimFile(Inode in, long gen) {
            this.in = in;
            this.gen = gen;
        }

        private void valid() throws IOException {
            check();
            if (closed || gen != generation) {
                throw new IOException("stale or closed file handle");
            }
        }

        @Override
        public void write(ByteBuffer src, long position) throws IOException {
            synchronized (SimulatedFileSystem.this) {
                valid();
                mutating();
                byte[] b = new byte[src.remaining()];
                src.get(b);
                long grow = Math.max(0, position + b.length - in.len);
                if (grow > spaceLeft) {
                    int part = (int) Math.max(0, spaceLeft - Math.max(0, position - in.len));
                    if (part > 0) {
                        Write w = new Write(position, Arrays.copyOf(b, Math.min(part, b.length)));
                        in.unsynced.add(w);
                        in.apply(w);
                    }
                    spaceLeft = 0;
                    throw new IOException("No space left on device");
                }
                spaceLeft -= grow;
                Write w = new Write(position, b);
                in.unsynced.add(w);
                in.apply(w);
                in.mtime = now;
            }
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            synchronized (SimulatedFileSystem.this) {
                valid();
                if (position >= in.len) {
                    return -1;
                }
                int n = (int) Math.min(dst.remaining(), in.len - position);
                dst.put(in.data, (int) position, n);
                return n;
            }
        }

        @Override
        public void force() throws IOException {
            synchronized (SimulatedFileSystem.this) {
                valid();
                mutating();
                forces++;
                if (failNextForce) {
                    failNextForce = false;
                    // fsyncgate: the dirty data is dropped from the write-back queue and never reaches the disk
                    in.unsynced.clear();
                    throw new IOException("Input/output error (simulated fsync failure)");
                }
                in.durable = in.current();
                in.unsynced.clear();
            }
        }

        @Override
        public void truncate(long size) throws IOException {
            synchronized (SimulatedFileSystem.this) {
                valid();
                mutating();
                Truncate t = new Truncate(size);
                in.unsynced.add(t);
                in.apply(t);
                in.mtime = now;
            }
        }

        @Override
        public long size() throws IOException {
            synchronized (SimulatedFileSystem.this) {
                valid();
                return in.len;
            }
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
