import { createHash } from 'node:crypto';

/**
 * The sections of an SQL migration, split exactly as node-pg-migrate 9's SQL
 * loader splits them (src/sqlMigration.ts, getActions): a section starts at
 * its marker comment (`-- Up Migration`, `-- Down Migration`, any case, any
 * number of dashes and spaces after `--`) and runs to the other marker or the
 * end of the file. Without an up marker the whole file is the up section;
 * without a down marker there is no down. Agentry runs these strings itself
 * (see runner.ts), so what it applies, prints for --dry-run, lints and
 * checksums are the same text.
 */
export interface SqlSections {
  /** [start, end) of the up section in the file's text. */
  upRange: [number, number];
  up: string;
  /** undefined: the file has no down section (node-pg-migrate then refuses to revert it). */
  downRange: [number, number] | undefined;
  down: string | undefined;
}

const marker = (direction: 'up' | 'down') => new RegExp(String.raw`^\s*--[\s-]*${direction}\s+migration`, 'im');

export function splitSqlMigration(content: string): SqlSections {
  const upStart = content.search(marker('up'));
  const downStart = content.search(marker('down'));
  const upRange: [number, number] =
    upStart >= 0 ? [upStart, downStart < upStart ? content.length : downStart] : [0, content.length];
  const downRange: [number, number] | undefined =
    downStart >= 0 ? [downStart, upStart < downStart ? content.length : upStart] : undefined;
  return {
    upRange,
    up: content.slice(...upRange),
    downRange,
    down: downRange ? content.slice(...downRange) : undefined,
  };
}

/**
 * The file with everything outside its up section blanked out, line breaks
 * kept, so that a linter reports the file's own line numbers but sees only
 * what `migrate up` runs.
 */
export function upSectionOnly(content: string): string {
  const [start, end] = splitSqlMigration(content).upRange;
  const blank = (text: string) => text.replace(/[^\r\n]/g, '');
  return blank(content.slice(0, start)) + content.slice(start, end) + blank(content.slice(end));
}

/**
 * SHA-256 (hex) of a migration's text as the ledger records it. CRLF line ends
 * are read as LF, so a checkout with Windows line endings is not "edited".
 */
export function migrationChecksum(content: string): string {
  return createHash('sha256').update(content.replace(/\r\n/g, '\n'), 'utf8').digest('hex');
}
