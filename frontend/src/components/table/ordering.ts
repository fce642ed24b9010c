/** An API ordering: the key ascending, `-key` descending. */
export type Ordering<K extends string> = K | `-${K}`;

/** The ordering after a click on a column's header: its key ascending, then descending, then ascending. */
export function nextOrdering<K extends string>(current: Ordering<K>, key: K): Ordering<K> {
  return current === key ? `-${key}` : key;
}

/** The column's aria-sort under the current ordering. */
export function sortDirection<K extends string>(current: Ordering<K>, key: K): "ascending" | "descending" | "none" {
  return current === key ? "ascending" : current === `-${key}` ? "descending" : "none";
}
