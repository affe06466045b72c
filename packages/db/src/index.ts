export type { Db, Queryable, QueryResult, QueryOptions, DbOptions, TxOptions } from "./types.js";
export { openDatabase } from "./db.js";
export type { Migration } from "./migrate.js";
export { migrate } from "./migrate.js";
export { isUniqueViolation, isSerializationFailure } from "./pg-errors.js";
