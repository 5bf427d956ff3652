import { relative } from 'node:path';

import {
  isBinaryExpression,
  isCallExpression,
  isIdentifier,
  isImportDeclaration,
  isNoSubstitutionTemplateLiteral,
  isPropertyAccessExpression,
  isStringLiteral,
  isTypeOfExpression,
  SyntaxKind,
  type Node,
  type SourceFile,
} from 'typescript/unstable/ast';

/**
 * Finds comparisons that could compare secret material in variable time, in
 * the files that handle it (those importing node:crypto): `a === b` / `!==` /
 * `==` / `!=`, `a.equals(b)`, `Buffer.compare(a, b)`, `a.compare(b)` and
 * `a.localeCompare(b)`, where an operand's text names a secret (key, token,
 * secret, password, hash, signature, digest, hmac) or is a crypto result.
 * Comparisons with a constant on one side are left out: a string or number
 * literal, undefined, null, a typeof, a .length or .size.
 * The places that compare secrets must use crypto.timingSafeEqual instead.
 */
export const SECRET_NAME = /(secret|token|passw|hash|signature|digest|hmac|api_?key|\bkey\b|Key\b|sha256|createHmac|createHash)/i;

export interface Comparison {
  file: string;
  line: number;
  text: string;
}

export interface CompareResult {
  /** Files that import node:crypto (where secrets are made and checked): the ones searched. */
  cryptoFiles: string[];
  /** Variable-time comparisons with a secret-named operand. */
  comparisons: Comparison[];
  /** Calls of timingSafeEqual. */
  constantTime: Comparison[];
}

const EQUALITY = new Set([SyntaxKind.EqualsEqualsEqualsToken, SyntaxKind.ExclamationEqualsEqualsToken, SyntaxKind.EqualsEqualsToken, SyntaxKind.ExclamationEqualsToken]);

function harmless(e: Node, sf: SourceFile): boolean {
  if (isTypeOfExpression(e)) return true;
  if (e.kind === SyntaxKind.NumericLiteral || e.kind === SyntaxKind.NullKeyword || e.kind === SyntaxKind.TrueKeyword || e.kind === SyntaxKind.FalseKeyword) return true;
  if (isIdentifier(e) && e.text === 'undefined') return true;
  // A constant on one side: what is compared is not a stored or presented secret.
  if (isStringLiteral(e) || isNoSubstitutionTemplateLiteral(e)) return true;
  if (isPropertyAccessExpression(e) && isIdentifier(e.name) && ['length', 'size', 'byteLength'].includes(e.name.text)) return true;
  return /^\s*$/.test(e.getText(sf));
}

export function findComparisons(files: ReadonlyMap<string, SourceFile>, root: string): CompareResult {
  const comparisons: Comparison[] = [];
  const constantTime: Comparison[] = [];
  const cryptoFiles: string[] = [];
  for (const sf of files.values()) {
    if (!sf.statements.some((s) => isImportDeclaration(s) && isStringLiteral(s.moduleSpecifier) && /^(node:)?crypto$/.test(s.moduleSpecifier.text))) continue;
    cryptoFiles.push(relative(root, sf.fileName));
    const at = (node: Node): Comparison => ({
      file: relative(root, sf.fileName),
      line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1,
      text: node.getText(sf).replace(/\s+/g, ' '),
    });
    const secretOperands = (operands: readonly Node[]) =>
      operands.every((o) => !harmless(o, sf)) && operands.some((o) => SECRET_NAME.test(o.getText(sf)));
    const visit = (node: Node): void => {
      if (isBinaryExpression(node) && EQUALITY.has(node.operatorToken.kind) && secretOperands([node.left, node.right])) comparisons.push(at(node));
      if (isCallExpression(node)) {
        const callee = node.expression;
        const name = isPropertyAccessExpression(callee) && isIdentifier(callee.name) ? callee.name.text : isIdentifier(callee) ? callee.text : '';
        if (name === 'timingSafeEqual') constantTime.push(at(node));
        else if (['equals', 'compare', 'localeCompare'].includes(name) && isPropertyAccessExpression(callee)) {
          const operands = callee.expression.getText(sf) === 'Buffer' ? [...node.arguments] : [callee.expression, ...node.arguments];
          if (secretOperands(operands)) comparisons.push(at(node));
        }
      }
      node.forEachChild(visit);
    };
    visit(sf);
  }
  return { cryptoFiles, comparisons, constantTime };
}
