/** Anything long-lived: started once, stopped once (stop is idempotent). */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}
