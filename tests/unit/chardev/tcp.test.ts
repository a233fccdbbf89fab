import { describe, expect, test } from 'vitest';
import { createServer, connect, type Socket } from 'node:net';
import { TcpBackend } from '../../../src/chardev/tcp.js';
import { CharBackendError } from '../../../src/chardev/backend.js';

const HOST = '127.0.0.1';

function connectClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: HOST, port }, () => resolve(s));
    s.once('error', reject);
  });
}

function readUntil(s: Socket, want: string): Promise<string> {
  return new Promise((resolve) => {
    let acc = '';
    const on = (c: Buffer) => {
      acc += c.toString();
      if (acc.includes(want)) {
        s.off('data', on);
        resolve(acc);
      }
    };
    s.on('data', on);
  });
}

function nextInput(be: TcpBackend): Promise<string> {
  return new Promise((resolve) => be.onInput((b) => resolve(Buffer.from(b).toString())));
}

/** A port with nothing listening (bound then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, HOST, () => r()));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('tcp backend, server mode', () => {
  test('with wait, ready settles only when a client connects; bytes flow both ways', async () => {
    const logs: string[] = [];
    const be = new TcpBackend({ host: HOST, port: 0, server: true, wait: true, log: (m) => logs.push(m) });
    let ready = false;
    void be.ready.then(() => {
      ready = true;
    });
    const { port } = await be.address();
    await new Promise((r) => setTimeout(r, 20));
    expect(ready).toBe(false);
    expect(logs.join('')).toContain('waiting for connection');
    const client = await connectClient(port);
    await be.ready;
    expect(be.connected).toBe(true);

    const input = nextInput(be);
    client.write('from host');
    expect(await input).toBe('from host');

    const seen = readUntil(client, 'from guest');
    be.write(Buffer.from('from guest'));
    expect(await seen).toBe('from guest');
    client.destroy();
    await be.close();
  });

  test('nowait: ready at once; output without a client is discarded', async () => {
    const be = new TcpBackend({ host: HOST, port: 0, server: true, wait: false });
    await be.ready;
    be.write(Buffer.from('lost'));
    expect(be.discardedBytes).toBe(4);
    const { port } = await be.address();
    const client = await connectClient(port);
    const seen = readUntil(client, 'kept');
    await new Promise((r) => setTimeout(r, 20));
    be.write(Buffer.from('kept'));
    expect(await seen).toBe('kept'); // 'lost' never arrives
    client.destroy();
    await be.close();
  });

  test('one client at a time; the next is served when the first leaves', async () => {
    const be = new TcpBackend({ host: HOST, port: 0, server: true, wait: true });
    const { port } = await be.address();
    const first = await connectClient(port);
    await be.ready;
    const second = await connectClient(port);
    const got: string[] = [];
    be.onInput((b) => got.push(Buffer.from(b).toString()));
    second.write('second');
    await new Promise((r) => setTimeout(r, 30));
    expect(got).toEqual([]); // waits unread while the first is connected
    first.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(got.join('')).toBe('second');
    const seen = readUntil(second, 'hi2');
    be.write(Buffer.from('hi2'));
    expect(await seen).toBe('hi2');
    second.destroy();
    await be.close();
  });

  test('pauseInput stops reading from the socket until resumed', async () => {
    const be = new TcpBackend({ host: HOST, port: 0, server: true, wait: true });
    const { port } = await be.address();
    const client = await connectClient(port);
    await be.ready;
    const got: string[] = [];
    be.onInput((b) => got.push(Buffer.from(b).toString()));
    be.pauseInput();
    client.write('held');
    await new Promise((r) => setTimeout(r, 30));
    expect(got).toEqual([]);
    be.resumeInput();
    await new Promise((r) => setTimeout(r, 30));
    expect(got.join('')).toBe('held');
    client.destroy();
    await be.close();
  });

  test('a port in use fails ready with TCP_LISTEN', async () => {
    const a = new TcpBackend({ host: HOST, port: 0, server: true, wait: false });
    const { port } = await a.address();
    const b = new TcpBackend({ host: HOST, port, server: true, wait: false });
    await expect(b.ready).rejects.toMatchObject({ code: 'TCP_LISTEN' });
    await a.close();
    await b.close();
  });
});

describe('tcp backend, client mode', () => {
  test('connects; bytes flow both ways', async () => {
    let peer: Socket | undefined;
    const srv = createServer((s) => {
      peer = s;
    });
    await new Promise<void>((r) => srv.listen(0, HOST, () => r()));
    const addr = srv.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const be = new TcpBackend({ host: HOST, port, server: false, wait: false });
    await be.ready;
    await new Promise((r) => setTimeout(r, 20));
    if (!peer) throw new Error('no connection');
    const seen = readUntil(peer, 'ping');
    be.write(Buffer.from('ping'));
    expect(await seen).toBe('ping');
    const input = nextInput(be);
    peer.write('pong');
    expect(await input).toBe('pong');
    peer.destroy();
    await be.close();
    await new Promise<void>((r) => srv.close(() => r()));
  });

  test('connection refused rejects ready with TCP_CONNECT', async () => {
    const port = await closedPort();
    const be = new TcpBackend({ host: HOST, port, server: false, wait: false });
    const err = await be.ready.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CharBackendError);
    expect((err as CharBackendError).code).toBe('TCP_CONNECT');
    expect((err as Error).message).toContain(`${HOST}:${port}`);
    await be.close();
  });

  test('a bad port is refused at construction', () => {
    expect(() => new TcpBackend({ host: HOST, port: 70000, server: false, wait: false })).toThrow(CharBackendError);
  });
});
