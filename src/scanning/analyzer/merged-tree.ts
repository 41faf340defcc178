/**
 * The merged file tree of an image's layers, as the analyzer sees it: directories, regular files,
 * symlinks and hard links, each stamped with the layer that last wrote it. Whiteouts remove only
 * what lower layers wrote; links resolve through the merged tree (at most 40 hops). Regular files
 * carry the analyzers' small results, so a whiteout or an upper file drops them with the node.
 * No file bytes are kept here.
 */

export type NodeKind = 'dir' | 'file' | 'symlink' | 'hardlink';

export interface TreeNode {
  kind: NodeKind;
  /** The layer that last wrote this node, or wrote something below it (directories). */
  layer: number;
  size: number;
  mode: number;
  /** Directories only. */
  children?: Map<string, TreeNode>;
  /** Symlinks: the target as written. Hard links: the target's path from the root. */
  target?: string;
  /** Regular files: analyzer index → that analyzer's result for this file. */
  results?: Map<number, unknown>;
}

/** How many links one resolution may follow (Linux's limit for a path walk). */
export const MAX_LINK_HOPS = 40;

/** Matches a name with an empty or `.` part (linear: no nested quantifiers). */
const NOT_NORMAL = /(?:^|\/)\.?(?:\/|$)/;

/** `./a//b/` → `a/b`; `/` and `.` → `` (the root). Keeps `..` for the resolver. */
export function normalizePath(name: string): string {
  // Most tar names are already normal: no leading `/` or `./`, no `//`, `/./` or trailing `/`.
  if (!NOT_NORMAL.test(name)) return name;
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    parts.push(part);
  }
  return parts.join('/');
}

function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

function newDir(layer: number): TreeNode {
  return { kind: 'dir', layer, size: 0, mode: 0o755, children: new Map() };
}

/** Drops everything below `dir` that a layer lower than `layer` wrote. */
function pruneLower(dir: TreeNode, layer: number): void {
  if (!dir.children) return;
  for (const [name, child] of dir.children) {
    if (child.layer < layer) dir.children.delete(name);
    else if (child.kind === 'dir') pruneLower(child, layer);
  }
}

export class MergedTree {
  readonly root: TreeNode = newDir(-1);

  /**
   * The directory at `parts`, created (and stamped with `layer`) where missing or not a directory.
   * A symlink to a directory on the way is followed, as a runtime extracting the layer does
   * (`lib/x` lands in `usr/lib/x` when `lib -> usr/lib`); a link to nothing is replaced.
   */
  private ensureDir(parts: readonly string[], layer: number): TreeNode {
    let cur = this.root;
    cur.layer = Math.max(cur.layer, layer);
    for (const [i, name] of parts.entries()) {
      // `children` is set on every dir node; `cur` is always a dir here.
      const children = cur.children ?? new Map<string, TreeNode>();
      let next = children.get(name);
      if (next?.kind === 'symlink') {
        const resolved = this.resolve(parts.slice(0, i + 1).join('/'));
        if (resolved?.node.kind === 'dir') {
          resolved.node.layer = Math.max(resolved.node.layer, layer);
          cur = resolved.node;
          continue;
        }
      }
      if (!next || next.kind !== 'dir') {
        next = newDir(layer);
        children.set(name, next);
      } else {
        next.layer = Math.max(next.layer, layer);
      }
      cur = next;
    }
    return cur;
  }

  /** Records an entry of `layer` at `path` (normalized), replacing whatever was there. */
  set(path: string, layer: number, entry: { kind: NodeKind; size?: number; mode?: number; target?: string }): TreeNode {
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) return this.root;
    const parent = this.ensureDir(parts, layer);
    const children = parent.children ?? new Map<string, TreeNode>();
    const existing = children.get(name);
    if (entry.kind === 'dir' && existing?.kind === 'dir') {
      existing.layer = layer;
      existing.mode = entry.mode ?? existing.mode;
      return existing;
    }
    const node: TreeNode =
      entry.kind === 'dir'
        ? { ...newDir(layer), mode: entry.mode ?? 0o755 }
        : { kind: entry.kind, layer, size: entry.size ?? 0, mode: entry.mode ?? 0o644 };
    if (entry.target !== undefined) node.target = entry.target;
    children.set(name, node);
    return node;
  }

  /** `.wh.<name>`: removes what lower layers wrote at `path` and below it. */
  whiteout(path: string, layer: number): void {
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) return;
    const parent = this.resolve(parts.join('/'))?.node;
    const child = parent?.children?.get(name);
    if (!parent?.children || !child) return;
    if (child.layer < layer) parent.children.delete(name);
    else if (child.kind === 'dir') pruneLower(child, layer);
  }

  /** `.wh..wh..opq` in `dir`: removes everything lower layers wrote below `dir`. */
  opaque(dir: string, layer: number): void {
    const node = this.ensureDir(splitPath(dir), layer);
    pruneLower(node, layer);
  }

  private getNode(parts: readonly string[]): TreeNode | undefined {
    let cur: TreeNode | undefined = this.root;
    for (const name of parts) {
      cur = cur?.children?.get(name);
      if (!cur) return undefined;
    }
    return cur;
  }

  /** The node at `path` itself, links not followed. */
  get(path: string): TreeNode | undefined {
    return this.getNode(splitPath(path));
  }

  /**
   * Follows symlinks and hard links in every component of `path`. Returns the real path and its
   * node, or null when something is missing, a component is not a directory, or more than
   * {@link MAX_LINK_HOPS} links were followed. `..` stops at the root.
   */
  resolve(path: string): { path: string; node: TreeNode } | null {
    let pending = splitPath(path);
    let index = 0;
    const stack: TreeNode[] = [this.root];
    const names: string[] = [];
    let hops = 0;
    while (index < pending.length) {
      const name = pending[index] ?? '';
      const cur = stack[stack.length - 1] ?? this.root;
      if (name === '..') {
        if (names.length > 0) {
          names.pop();
          stack.pop();
        }
        index++;
        continue;
      }
      const child = cur.children?.get(name);
      if (!child) return null;
      if (child.kind === 'symlink' || child.kind === 'hardlink') {
        if (++hops > MAX_LINK_HOPS) return null;
        const target = child.target ?? '';
        const rest = pending.slice(index + 1);
        if (child.kind === 'hardlink' || target.startsWith('/')) {
          stack.length = 1;
          names.length = 0;
        }
        pending = [...splitPath(target), ...rest];
        index = 0;
        continue;
      }
      if (index < pending.length - 1 && child.kind !== 'dir') return null;
      stack.push(child);
      names.push(name);
      index++;
    }
    const node = stack[stack.length - 1] ?? this.root;
    return { path: names.join('/'), node };
  }

  /** Every node below the root, depth first, with its path. */
  *walk(): Generator<[string, TreeNode]> {
    const todo: Array<[string, TreeNode]> = [['', this.root]];
    for (let item = todo.pop(); item; item = todo.pop()) {
      const [prefix, dir] = item;
      for (const [name, child] of dir.children ?? []) {
        const path = prefix === '' ? name : `${prefix}/${name}`;
        yield [path, child];
        if (child.kind === 'dir') todo.push([path, child]);
      }
    }
  }
}
