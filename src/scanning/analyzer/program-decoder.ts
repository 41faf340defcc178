/**
 * A decompressing program (`igzip -d -c`, `zstd -d -c`) in a child process: compressed bytes are
 * written to its stdin, and its tar bytes come back as chunks LENT to the reader (each valid until
 * the next is asked for), read into a few reused buffers.
 *
 * Why not its stdout pipe as a stream: Node reads a pipe 64 KiB at a time into a new buffer, and
 * for an image's hundreds of MB of tar those reads were a third or more of the main thread's
 * cost of a walk, and drove a full garbage collection every 30-40 MB
 * (docs/testing.md, "The decoders' output into reused buffers"). So the program's stdout is one
 * end of a Unix domain socket connection instead, and this process reads the other end with
 * net.Socket's `onread`: every read goes into a buffer of a small pool, and a socket read takes
 * up to its larger buffer's worth (about twice a pipe's). The connection is made through a
 * listening socket in Linux's abstract namespace (no file to create or remove), opened once per
 * process; a connection counts only when it presents the random token its reader sent, so
 * another local process cannot join a walk. Where that socket cannot listen (or a pairing
 * fails), the program's stdout pipe is read as before, in new buffers.
 *
 * A layer that is a local file (Wharf's filesystem store, read in-process) is not written at all:
 * the program gets the file's descriptor as its stdin and reads it itself, which spares this
 * process a pipe write per 64 KiB and the program a wake-up for each.
 *
 * Back-pressure both ways: the program's stdin is written with its `drain`; past
 * {@link MAX_QUEUED} unread chunks reading the socket pauses, and the program blocks on its
 * output. The output ends only after the program exited 0; a corrupt or truncated input (it exits
 * non-zero) fails it with the program's message; {@link ProgramDecoder.destroy} kills the program.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Writable, type Readable } from 'node:stream';

/** The size of one pooled read buffer. */
const READ_BUFFER_BYTES = 256 * 1024;
/** Chunks read and not yet asked for, at most; reading pauses past it. */
const MAX_QUEUED = 4;
const TOKEN_BYTES = 16;
/** Connections without their token yet, at most; more are closed at once. */
const MAX_UNPAIRED = 64;
/** How long a connection may take to present its token, and a pairing to complete. */
const PAIRING_TIMEOUT_MS = 10_000;

/** The listening socket the programs' outputs are connected through, opened once per process. */
class Rendezvous {
  private readonly waiting = new Map<string, (socket: net.Socket) => void>();
  /** Connections that have not presented a token yet. */
  private unpaired = 0;

  private constructor(readonly address: string, server: net.Server) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** The process's listening socket; null where none can listen (no abstract namespace). */
  static open(): Promise<Rendezvous | null> {
    const address = `\0wharf-decoder-${process.pid}-${randomBytes(8).toString('hex')}`;
    return new Promise((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(null));
      server.listen(address, () => {
        server.unref();
        resolve(new Rendezvous(address, server));
      });
    });
  }

  /** A connection: matched to its reader by the token that arrives first on it, else closed. */
  private accept(socket: net.Socket): void {
    // Only this process's readers connect, one per walk starting; more waiting at once is a stranger.
    if (this.unpaired >= MAX_UNPAIRED) {
      socket.destroy();
      return;
    }
    this.unpaired++;
    let counted = true;
    const done = (): void => {
      if (counted) this.unpaired--;
      counted = false;
    };
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), PAIRING_TIMEOUT_MS).unref();
    socket.on('error', () => socket.destroy());
    socket.on('close', done);
    const onData = (data: Buffer): void => {
      got = Buffer.concat([got, data]);
      if (got.length < TOKEN_BYTES) return;
      clearTimeout(timer);
      done();
      socket.off('data', onData);
      socket.pause();
      const take = got.length === TOKEN_BYTES ? this.waiting.get(got.toString('hex')) : undefined;
      if (take === undefined) socket.destroy();
      else take(socket);
    };
    socket.on('data', onData);
  }

  /**
   * A connected pair: `reader` in this process, reading with `onread`, and `writer`, the end for
   * the program's stdout.
   */
  async pair(onread: net.OnReadOpts): Promise<{ reader: net.Socket; writer: net.Socket }> {
    const token = randomBytes(TOKEN_BYTES);
    const key = token.toString('hex');
    const reader = net.connect({ path: this.address, onread });
    try {
      const writer = await new Promise<net.Socket>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('connecting to the decoder socket timed out')), PAIRING_TIMEOUT_MS);
        const fail = (err: Error): void => {
          clearTimeout(timer);
          reject(err);
        };
        reader.once('error', fail);
        this.waiting.set(key, (socket) => {
          clearTimeout(timer);
          reader.off('error', fail);
          resolve(socket);
        });
        reader.write(token);
      });
      return { reader, writer };
    } catch (err) {
      reader.destroy();
      throw err;
    } finally {
      this.waiting.delete(key);
    }
  }
}

let rendezvous: Promise<Rendezvous | null> | null = null;

/** The address the decoders' outputs connect through (opened on first use); null where none can listen. Tests. */
export async function decoderSocketAddress(): Promise<string | null> {
  rendezvous ??= Rendezvous.open();
  return (await rendezvous)?.address ?? null;
}

interface Lent {
  view: Buffer;
  /** The pooled buffer it lies in; null when it was read into a buffer of its own. */
  backing: Buffer | null;
}

/** The program's output as lent chunks: see the module comment. */
class ProgramOutput implements AsyncIterableIterator<Buffer> {
  private readonly free: Buffer[] = [];
  private readonly queue: Lent[] = [];
  private lent: Buffer | null = null;
  private waiter: { resolve: (r: IteratorResult<Buffer>) => void; reject: (err: Error) => void } | null = null;
  private ended = false;
  private exited = false;
  private failure: Error | null = null;
  private paused = false;
  /** Resumes reading after {@link received} returned false. */
  resume: () => void = () => undefined;

  /** A buffer for the next read. */
  readonly buffer = (): Buffer => this.free.pop() ?? Buffer.allocUnsafe(READ_BUFFER_BYTES);

  /** One read's bytes; false: stop reading until {@link resume} is called. */
  received(view: Buffer, backing: Buffer | null): boolean {
    if (this.failure !== null) return false;
    this.queue.push({ view, backing });
    this.settle();
    this.paused = this.queue.length >= MAX_QUEUED;
    return !this.paused;
  }

  /** The program's output reached its end. */
  end(): void {
    this.ended = true;
    this.settle();
  }

  /** The program exited 0. */
  exitedCleanly(): void {
    this.exited = true;
    this.settle();
  }

  /** Fails the output (the first failure wins). */
  fail(err: Error): void {
    this.failure ??= err;
    this.queue.length = 0;
    this.settle();
  }

  next(): Promise<IteratorResult<Buffer>> {
    // Asking for the next chunk gives the last one back.
    if (this.lent !== null) {
      this.free.push(this.lent);
      this.lent = null;
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.settle();
    });
  }

  async return(): Promise<IteratorResult<Buffer>> {
    this.fail(new Error('the program output was left unread'));
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private settle(): void {
    const w = this.waiter;
    if (w === null) return;
    const next = this.queue.shift();
    if (next !== undefined) {
      this.waiter = null;
      this.lent = next.backing;
      if (this.paused && this.queue.length < MAX_QUEUED) {
        this.paused = false;
        this.resume();
      }
      w.resolve({ value: next.view, done: false });
    } else if (this.failure !== null) {
      this.waiter = null;
      w.reject(this.failure);
    } else if (this.ended && this.exited) {
      this.waiter = null;
      w.resolve({ value: undefined, done: true });
    }
  }
}

/** Ignores write errors: a program that exited early fails the output with its own message. */
class ProgramInput extends Writable {
  constructor(private readonly stdin: Writable) {
    super();
    stdin.on('error', () => undefined);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.stdin.write(chunk)) {
      callback();
      return;
    }
    const done = (): void => {
      this.stdin.off('drain', done).off('close', done);
      callback();
    };
    this.stdin.on('drain', done).on('close', done);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.stdin.end(() => callback());
  }
}

/** One running decoding program; see the module comment. */
export class ProgramDecoder {
  /** Where the compressed bytes go (end it after the last); null when the program reads a file of its own (`inputFd`). */
  readonly input: Writable | null;
  /** The tar bytes, lent: each chunk is valid until the next is asked for. */
  readonly output: AsyncIterableIterator<Buffer>;

  private constructor(
    private readonly child: ChildProcess,
    stdin: Writable | null,
    private readonly stderr: Readable,
    private readonly out: ProgramOutput,
    private readonly reader: net.Socket | null,
  ) {
    this.input = stdin === null ? null : new ProgramInput(stdin);
    this.output = out;
  }

  /**
   * Starts `program -d -c`. `tool` names it in messages, `format` the compression. A program that
   * cannot run fails the output with `<tool> could not run: ...`.
   */
  static async start(program: string, tool: string, format: string, opts: { stdoutPipe?: boolean; inputFd?: number } = {}): Promise<ProgramDecoder> {
    const out = new ProgramOutput();
    rendezvous ??= Rendezvous.open();
    // `stdoutPipe`: read the program's stdout pipe as where no socket can listen (tests).
    const place = opts.stdoutPipe === true ? null : await rendezvous;
    let pair: { reader: net.Socket; writer: net.Socket } | null = null;
    if (place !== null) {
      try {
        pair = await place.pair({
          buffer: out.buffer,
          callback: (n, buf) => out.received((buf as Buffer).subarray(0, n), buf as Buffer),
        });
      } catch {
        pair = null; // the stdout pipe still works: slower, not wrong
      }
    }
    let child: ChildProcess;
    try {
      // `inputFd`: the program reads the compressed file itself; nothing is written to its stdin.
      child = spawn(program, ['-d', '-c'], { stdio: [opts.inputFd ?? 'pipe', pair === null ? 'pipe' : pair.writer, 'pipe'] });
    } finally {
      // The program has its own copy of the socket now (or never will): close this process's.
      pair?.writer.destroy();
    }
    const { stdin, stderr } = child;
    if ((stdin === null && opts.inputFd === undefined) || stderr === null) throw new Error('spawn gave the program no stdin or stderr pipe');
    const decoder = new ProgramDecoder(child, stdin, stderr, out, pair?.reader ?? null);
    decoder.watch(tool, format);
    return decoder;
  }

  /** Kills the program (if it still runs) and fails the output with `err`. */
  destroy(err: Error): void {
    this.out.fail(err);
    this.reader?.destroy();
    this.child.stdout?.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private watch(tool: string, format: string): void {
    const { child, out, reader } = this;
    let stderr = '';
    this.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    if (reader !== null) {
      out.resume = () => reader.resume();
      reader.on('end', () => out.end());
      reader.on('error', (err) => this.destroy(new Error(`reading the ${tool} output: ${err.message}`)));
    } else {
      const stdout = child.stdout;
      if (stdout === null) throw new Error('the program has no stdout');
      out.resume = () => stdout.resume();
      stdout.on('data', (chunk: Buffer) => {
        if (!out.received(chunk, null)) stdout.pause();
      });
      stdout.on('end', () => out.end());
    }
    child.on('error', (err) => this.destroy(new Error(`${tool} could not run: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) {
        out.exitedCleanly();
        return;
      }
      // igzip: "igzip: Error (null) <why>"; zstd: "zstd: /*stdin*\\: <why>" or "/*stdin*\\ : <why>".
      let said = stderr.trim();
      if (said.startsWith(`${tool}: `)) said = said.slice(tool.length + 2);
      said = said.replace(/^Error \(null\) /, '').replace(/^\/\*stdin\*\\ ?: /, '');
      this.destroy(new Error(`the ${format} layer is corrupt or truncated (${tool}: ${said || (signal ?? `exit status ${code}`)})`));
    });
  }
}
