/**
 * Where the key-encryption keys come from: SB_ACCOUNTS_KEK, or the file SB_ACCOUNTS_KEK_FILE
 * names (a mounted Secret), read once at start. A KMS would be another KeyWrapper here.
 */
import { readFile } from "node:fs/promises";
import { createAesGcmKeyWrapper, parseKeks, type KeyWrapper } from "@switchboard/tokens";

export async function loadKeyWrapper(c: { readonly kek: string; readonly kekFile: string }): Promise<KeyWrapper> {
  if (c.kek !== "") return createAesGcmKeyWrapper(parseKeks(c.kek));
  let text: string;
  try {
    text = await readFile(c.kekFile, "utf8");
  } catch (e: unknown) {
    throw new Error(`SB_ACCOUNTS_KEK_FILE ${c.kekFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    return createAesGcmKeyWrapper(parseKeks(text));
  } catch (e: unknown) {
    throw new Error(`SB_ACCOUNTS_KEK_FILE ${c.kekFile}: ${(e as Error).message}`);
  }
}
