// The dashboard's one table: column headers (sortable by an API ordering where a column names one), the rows,
// and a row saying so when there are none. The markup is the pages' own: a scrolling wrapper, scope="col"
// headers, aria-sort on the sortable ones.
import type { HTMLAttributes, ReactNode } from "react";
import { nextOrdering, sortDirection, type Ordering } from "./ordering";

export interface Column<Row, K extends string = string> {
  /** Unique among the columns. */
  key: string;
  header: ReactNode;
  cell: (row: Row) => ReactNode;
  /** The cells' class: "num" for figures, "actions" for buttons. */
  className?: string;
  /** The cells' data-testid. */
  testId?: string;
  /** The ordering a click on the header asks for; the column is sortable when it has one. */
  sortKey?: K;
}

export interface Sorting<K extends string> {
  ordering: Ordering<K>;
  onSort: (ordering: Ordering<K>) => void;
}

type RowProps = HTMLAttributes<HTMLTableRowElement> & { [data: `data-${string}`]: string };

export function DataTable<Row, K extends string = string>({
  testId,
  columns,
  rows,
  rowKey,
  rowProps,
  empty,
  sorting,
}: {
  testId: string;
  columns: Column<Row, K>[];
  rows: Row[];
  rowKey: (row: Row) => string | number;
  rowProps?: (row: Row) => RowProps;
  /** The text of the one row shown when there are none; nothing when not given. */
  empty?: ReactNode;
  sorting?: Sorting<K>;
}) {
  return (
    <div className="table-wrap">
      <table data-testid={testId}>
        <thead>
          <tr>
            {columns.map((column) => {
              const sortKey = column.sortKey;
              if (sortKey === undefined || sorting === undefined) {
                return (
                  <th key={column.key} scope="col">
                    {column.header}
                  </th>
                );
              }
              const sorted = sortDirection(sorting.ordering, sortKey);
              return (
                <th key={column.key} scope="col" aria-sort={sorted}>
                  <button type="button" className="sort" onClick={() => sorting.onSort(nextOrdering(sorting.ordering, sortKey))}>
                    {column.header}
                    <span aria-hidden="true">{sorted === "ascending" ? " ▲" : sorted === "descending" ? " ▼" : ""}</span>
                  </button>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} {...rowProps?.(row)}>
              {columns.map((column) => (
                <td key={column.key} className={column.className} data-testid={column.testId}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
          {rows.length === 0 && empty !== undefined && (
            <tr>
              <td colSpan={columns.length}>{empty}</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
