/**
 * The plan assertions a query file declares in its header (`-- expect: ...`),
 * parsed into data. One assertion per line:
 *
 *   index <index name>              the plan reads this index (a partition's
 *                                   own index counts as its parent's)
 *   no-seq-scan <table>             no Seq Scan on the table or any of its partitions
 *   partitions <table> <= <n>       at most n partitions of the table are scanned
 *   max-cost <n>                    the plan's total estimated cost is at most n
 *   max-rows <n>                    the plan's top node estimates at most n rows
 */
export type PlanExpectation =
  | { kind: 'index'; index: string; line: number; text: string }
  | { kind: 'no-seq-scan'; table: string; line: number; text: string }
  | { kind: 'partitions'; table: string; max: number; line: number; text: string }
  | { kind: 'max-cost'; max: number; line: number; text: string }
  | { kind: 'max-rows'; max: number; line: number; text: string };

const NAME = '[a-z_][a-z0-9_]*';

/** Parses one `-- expect:` text; returns a message instead when it is not one of the forms above. */
export function parseExpectation(text: string, line: number): PlanExpectation | { error: string } {
  const t = text.trim();
  let m: RegExpExecArray | null;
  if ((m = new RegExp(`^index (${NAME})$`).exec(t))) return { kind: 'index', index: m[1]!, line, text: t };
  if ((m = new RegExp(`^no-seq-scan (${NAME})$`).exec(t))) return { kind: 'no-seq-scan', table: m[1]!, line, text: t };
  if ((m = new RegExp(`^partitions (${NAME}) <= ([0-9]+)$`).exec(t))) {
    return { kind: 'partitions', table: m[1]!, max: Number(m[2]), line, text: t };
  }
  if ((m = /^max-cost ([0-9]+(?:\.[0-9]+)?)$/.exec(t))) return { kind: 'max-cost', max: Number(m[1]), line, text: t };
  if ((m = /^max-rows ([0-9]+)$/.exec(t))) return { kind: 'max-rows', max: Number(m[1]), line, text: t };
  return {
    error: `unknown plan assertion "${t}": use index <name>, no-seq-scan <table>, partitions <table> <= <n>, max-cost <n> or max-rows <n>`,
  };
}
