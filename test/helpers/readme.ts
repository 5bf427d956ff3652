/**
 * The code of the README's "Using the library" section: its first ```ts
 * block. test/dal/readme-example.test.ts runs it, test/package/pack.test.ts
 * type-checks it against the installed package.
 */
export function readmeLibraryExample(readme: string): string {
  const start = readme.indexOf('\n## Using the library\n');
  if (start < 0) throw new Error('README.md has no "## Using the library" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const block = /\n```ts\n([\s\S]*?)\n```\n/.exec(section)?.[1];
  if (!block) throw new Error('the "Using the library" section of README.md has no ```ts block');
  return `${block}\n`;
}
