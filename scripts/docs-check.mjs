// The docs' own checks, used by scripts/lint.mjs: markdown rendered the way GitHub renders it
// (CommonMark with GitHub's extensions, through micromark), its links and the anchors they point to.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { micromark } from 'micromark';
import { gfm, gfmHtml } from 'micromark-extension-gfm';

/** The markdown files the project publishes: the top-level ones and everything under docs/. */
export function markdownFiles(root) {
  const top = readdirSync(root).filter((f) => f.endsWith('.md'));
  const docs = existsSync(join(root, 'docs'))
    ? readdirSync(join(root, 'docs'), { recursive: true })
        .filter((f) => f.endsWith('.md'))
        .map((f) => join('docs', f))
    : [];
  return [...top, ...docs].sort();
}

/** HTML as GitHub's renderer makes it (raw HTML kept, as GitHub keeps the safe part of it). */
export function render(markdown) {
  return micromark(markdown, {
    extensions: [gfm()],
    htmlExtensions: [gfmHtml()],
    allowDangerousHtml: true,
  });
}

const entities = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" };
export const decode = (s) => s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e) => entities[e]);

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to '-'. */
export function anchors(html) {
  const seen = new Map();
  const out = new Set();
  for (const m of html.matchAll(/<h[1-6]>([^]*?)<\/h[1-6]>/g)) {
    const text = decode(m[1].replace(/<[^>]*>/g, ''));
    const base = text
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every link of a page that leads inside the repository resolves, and so does its anchor. */
export function checkLinks(root, files, read) {
  const problems = [];
  const pages = new Map(files.map((f) => [f, render(read(f))]));
  const anchorsOf = new Map();
  const anchorSet = (f) => {
    if (!anchorsOf.has(f)) anchorsOf.set(f, anchors(pages.get(f) ?? render(read(f))));
    return anchorsOf.get(f);
  };
  for (const [file, html] of pages) {
    for (const m of html.matchAll(/<a href="([^"]*)"/g)) {
      const href = decode(m[1]);
      if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue; // https:, mailto: and the like
      const [pathPart, anchor] = href.split('#');
      const path = decodeURIComponent(pathPart);
      const target = path === '' ? file : relative(root, join(root, dirname(file), path));
      if (target.startsWith('..')) {
        problems.push(`${file}: link '${href}' leaves the repository`);
        continue;
      }
      if (!existsSync(join(root, target))) {
        problems.push(`${file}: link '${href}' names ${target}, which does not exist`);
        continue;
      }
      if (anchor === undefined || anchor === '') continue;
      if (!target.endsWith('.md') || statSync(join(root, target)).isDirectory()) {
        if (!/^L\d+(-L\d+)?$/.test(anchor))
          problems.push(`${file}: link '${href}' has an anchor on a file that is not markdown`);
        continue;
      }
      if (!anchorSet(target).has(anchor))
        problems.push(`${file}: link '${href}': ${target} has no heading with anchor #${anchor}`);
    }
  }
  return { problems, pages };
}
