import { MobKitError } from '@mobkit/core';

const NAME = /^[A-Za-z0-9_-]+$/;

/**
 * A BigQuery dataset and table name pair, validated (spec 12): both non-empty, made only of
 * `A-Z a-z 0-9 _ -` — so they can be put in a URL path and a backquoted SQL identifier as they are.
 */
export class BigQueryNaming {
  private constructor(
    /** The dataset name. */
    readonly dataset: string,
    /** The table name. */
    readonly table: string,
  ) {}

  /**
   * Validates a dataset and a table name: `EmptyBigQueryDataset`, `EmptyBigQueryTable`, or
   * `InvalidBigQueryName` naming the offending name.
   */
  static of(dataset: string, table: string): BigQueryNaming {
    if (dataset === '') {
      throw new MobKitError('EmptyBigQueryDataset', 'BigQuery dataset name is empty; set dataset', {
        details: { field: 'dataset' },
      });
    }
    if (table === '') {
      throw new MobKitError('EmptyBigQueryTable', 'BigQuery table name is empty; set table', {
        details: { field: 'table' },
      });
    }
    for (const [field, name] of [
      ['dataset', dataset],
      ['table', table],
    ] as const) {
      if (!NAME.test(name)) {
        throw new MobKitError(
          'InvalidBigQueryName',
          `invalid BigQuery ${field} name ${JSON.stringify(name)}: only A-Z a-z 0-9 _ - are allowed`,
          { details: { field, name } },
        );
      }
    }
    return new BigQueryNaming(dataset, table);
  }

  /** `dataset.table`. */
  tableRef(): string {
    return `${this.dataset}.${this.table}`;
  }
}
