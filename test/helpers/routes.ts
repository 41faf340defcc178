/** The routes of a running app, read from Fastify's route tree. */

/** One registered route: method and full path pattern. */
export interface RouteEntry {
  method: string;
  path: string;
}

/**
 * Reads every route (method and full path) out of `printRoutes({ commonPrefix: false })`, a tree
 * drawn with `├── `/`└── ` connectors, four columns per level, `(GET, HEAD)` after a node that has
 * handlers. A node's path is its ancestors' segments followed by its own.
 */
export function routesOf(tree: string): RouteEntry[] {
  const out: RouteEntry[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (.*)$/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? '').length / 4;
    const text = m[2] ?? '';
    const withMethods = /^(.*) \(([A-Z, ]+)\)$/.exec(text);
    const segment = withMethods ? (withMethods[1] ?? '') : text;
    stack.length = depth;
    stack.push(segment);
    if (!withMethods) continue;
    for (const method of (withMethods[2] ?? '').split(', ')) out.push({ method, path: stack.join('') });
  }
  return out;
}
