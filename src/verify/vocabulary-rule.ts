import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { liveVocabularies, type Vocabulary } from '../catalog/vocabularies.js';
import { packageRoot } from '../migrate/config.js';
import { fail, pass, plural, skip, type Rule } from './types.js';

/** Where `agentry types` writes the generated modules (default). */
export function defaultGeneratedDir(): string {
  return join(packageRoot(), 'generated');
}

/** What the generated modules say a vocabulary is: key "<table>.<column>" or "<domain>" -> values. */
export type GeneratedVocabularies = Map<string, string[]>;

/** Reads the machine-readable vocabulary export of generated/, or explains why there is none. */
export async function loadGeneratedVocabularies(dir: string): Promise<GeneratedVocabularies | { missing: string }> {
  if (!existsSync(dir)) return { missing: `${dir} does not exist (run \`agentry types\`)` };
  return { missing: `${dir} has no machine-readable vocabulary export` };
}

export function vocabularyKey(v: Vocabulary): string {
  return v.ownerKind === 'domain' ? v.owner : `${v.owner}.${v.column}`;
}

export const vocabularies: Rule = {
  name: 'vocabularies',
  group: 'schema',
  description: 'every vocabulary CHECK (column IN (...)) lists exactly the values of the generated TypeScript union',
  async run({ client, generatedDir }) {
    const live = await liveVocabularies(client);
    const generated = await loadGeneratedVocabularies(generatedDir ?? defaultGeneratedDir());
    if ('missing' in generated) {
      return skip(`${plural(live.length, 'vocabulary CHECK')} read from the database, but ${generated.missing}`);
    }
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const v of live) {
      const key = vocabularyKey(v);
      seen.add(key);
      const values = generated.get(key);
      if (!values) {
        problems.push(`${key} (${v.constraint}): no generated union (regenerate with \`agentry types\`)`);
        continue;
      }
      const missing = v.values.filter((x) => !values.includes(x));
      const extra = values.filter((x) => !v.values.includes(x));
      if (missing.length > 0 || extra.length > 0) {
        const parts = [
          ...(missing.length > 0 ? [`missing from the union: ${missing.join(', ')}`] : []),
          ...(extra.length > 0 ? [`not allowed by the CHECK: ${extra.join(', ')}`] : []),
        ];
        problems.push(`${key} (${v.constraint}): ${parts.join('; ')}`);
      }
    }
    for (const key of [...generated.keys()].sort()) {
      if (!seen.has(key)) problems.push(`${key}: generated union without a CHECK in the database`);
    }
    if (problems.length === 0) return pass(`all ${plural(live.length, 'vocabulary CHECK')} match the generated unions`);
    return fail(`${plural(problems.length, 'vocabulary differs', 'vocabularies differ')} between the database and generated/: run \`agentry types\` (or fix the migration)`, problems);
  },
};
