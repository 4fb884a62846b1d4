/** Values keyed by namespace and key: what the records and claims ports keep. */
export interface TableView<V extends { readonly key: string }> {
  get(namespace: string, key: string): V | undefined;
  /** Stores `value`, or removes the key when `value` is undefined. */
  set(namespace: string, key: string, value: V | undefined): void;
  /** Every value of a namespace (no order). */
  values(namespace: string): V[];
  /** Every namespace that holds at least one value (no order). */
  namespaces(): string[];
}

/** The committed table. */
export class Table<V extends { readonly key: string }> implements TableView<V> {
  private readonly byNamespace = new Map<string, Map<string, V>>();

  get(namespace: string, key: string): V | undefined {
    return this.byNamespace.get(namespace)?.get(key);
  }

  set(namespace: string, key: string, value: V | undefined): void {
    let keys = this.byNamespace.get(namespace);
    if (value === undefined) {
      if (!keys) return;
      keys.delete(key);
      if (keys.size === 0) this.byNamespace.delete(namespace);
      return;
    }
    if (!keys) {
      keys = new Map();
      this.byNamespace.set(namespace, keys);
    }
    keys.set(key, value);
  }

  values(namespace: string): V[] {
    const keys = this.byNamespace.get(namespace);
    return keys ? [...keys.values()] : [];
  }

  namespaces(): string[] {
    return [...this.byNamespace.keys()];
  }
}

/** The mark of a key a transaction removed. */
const REMOVED: unique symbol = Symbol('removed');

/**
 * A transaction's view of a table: its own writes over the committed values. Nothing reaches the
 * committed table until {@link TableDraft.commit}.
 */
export class TableDraft<V extends { readonly key: string }> implements TableView<V> {
  private readonly changes = new Map<string, Map<string, V | typeof REMOVED>>();

  constructor(private readonly base: Table<V>) {}

  get(namespace: string, key: string): V | undefined {
    const change = this.changes.get(namespace)?.get(key);
    if (change === REMOVED) return undefined;
    return change ?? this.base.get(namespace, key);
  }

  set(namespace: string, key: string, value: V | undefined): void {
    let keys = this.changes.get(namespace);
    if (!keys) {
      keys = new Map();
      this.changes.set(namespace, keys);
    }
    keys.set(key, value === undefined ? REMOVED : value);
  }

  values(namespace: string): V[] {
    const changed = this.changes.get(namespace);
    if (!changed) return this.base.values(namespace);
    const merged = new Map<string, V>();
    for (const value of this.base.values(namespace)) merged.set(value.key, value);
    for (const [key, value] of changed) {
      if (value === REMOVED) merged.delete(key);
      else merged.set(key, value);
    }
    return [...merged.values()];
  }

  namespaces(): string[] {
    const names = new Set(this.base.namespaces());
    for (const namespace of this.changes.keys()) {
      if (this.values(namespace).length > 0) names.add(namespace);
      else names.delete(namespace);
    }
    return [...names];
  }

  /** Writes the transaction's changes into the committed table. */
  commit(): void {
    for (const [namespace, keys] of this.changes) {
      for (const [key, value] of keys) this.base.set(namespace, key, value === REMOVED ? undefined : value);
    }
  }
}
