/**
 * COPY over node-postgres's own connection, without pg-copy-streams (not a
 * dependency): a minimal "submittable" that node-postgres hands the COPY
 * protocol messages to. COPY FROM STDIN sends CopyData messages as the source
 * yields them, waiting for the socket to drain (so memory stays bounded);
 * COPY TO STDOUT receives CopyData messages and gives each chunk to a sink,
 * which the benchmarks use to count rows and throw the bytes away.
 */
import type { Duplex } from 'node:stream';
import { once } from 'node:events';

import type pg from 'pg';

/** The part of pg's Connection the COPY protocol needs (pg ships these methods; @types/pg does not declare them). */
interface CopyConnection {
  readonly stream: Duplex;
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}

export interface CopyResult {
  /** Rows the server reports (COPY n). */
  rows: number;
  /** Bytes of COPY data sent or received. */
  bytes: number;
}

abstract class CopySubmittable {
  callback?: (error: Error | null, result?: CopyResult) => void;
  protected error: Error | null = null;
  protected rows = 0;
  protected bytes = 0;

  constructor(private readonly text: string) {}

  submit(connection: CopyConnection): void {
    connection.query(this.text);
  }

  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)/.exec(message.text ?? '');
    if (match) this.rows = Number(match[1]);
  }

  handleError(error: Error): void {
    this.error = error;
  }

  handleReadyForQuery(): void {
    const callback = this.callback;
    this.callback = undefined;
    callback?.(this.error, { rows: this.rows, bytes: this.bytes });
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(connection: CopyConnection): void {
    connection.sendCopyFail('this statement does not read from STDIN');
  }
  handleCopyData(_message: { chunk: Buffer }, _connection: CopyConnection): void {}
}

class CopyIn extends CopySubmittable {
  constructor(
    text: string,
    private readonly source: AsyncIterable<Buffer> | Iterable<Buffer>,
  ) {
    super(text);
  }

  override handleCopyInResponse(connection: CopyConnection): void {
    void this.pump(connection);
  }

  private async pump(connection: CopyConnection): Promise<void> {
    try {
      for await (const chunk of this.source) {
        // After an ErrorResponse the server discards CopyData until CopyDone: stop early.
        if (this.error) break;
        connection.sendCopyFromChunk(chunk);
        this.bytes += chunk.length;
        if (connection.stream.writableNeedDrain) await once(connection.stream, 'drain');
      }
      connection.endCopyFrom();
    } catch (error) {
      connection.sendCopyFail(error instanceof Error ? error.message : String(error));
    }
  }
}

class CopyOut extends CopySubmittable {
  constructor(
    text: string,
    private readonly sink: (chunk: Buffer) => void,
  ) {
    super(text);
  }

  override handleCopyData(message: { chunk: Buffer }): void {
    this.bytes += message.chunk.length;
    this.sink(message.chunk);
  }
}

function run(client: pg.ClientBase, submittable: CopySubmittable): Promise<CopyResult> {
  return new Promise((resolve, reject) => {
    submittable.callback = (error, result) => (error ? reject(error) : resolve(result as CopyResult));
    client.query(submittable as unknown as pg.Submittable);
  });
}

/** Runs `COPY ... FROM STDIN` with the chunks of `source` as its data. */
export function copyFrom(client: pg.ClientBase, statement: string, source: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<CopyResult> {
  return run(client, new CopyIn(statement, source));
}

/** Runs `COPY ... TO STDOUT`, handing every CopyData chunk to `sink`. */
export function copyTo(client: pg.ClientBase, statement: string, sink: (chunk: Buffer) => void = () => undefined): Promise<CopyResult> {
  return run(client, new CopyOut(statement, sink));
}

/** One value in COPY's text format: \N for NULL; backslash, tab, newline and carriage return escaped. */
export function copyTextValue(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  const text = String(value);
  return /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : text;
}

/** Counts rows in COPY text output (one newline per row; newlines inside values are escaped). */
export function countNewlines(chunk: Buffer): number {
  let n = 0;
  let at = chunk.indexOf(10);
  while (at !== -1) {
    n += 1;
    at = chunk.indexOf(10, at + 1);
  }
  return n;
}
