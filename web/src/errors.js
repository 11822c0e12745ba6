// How the page words an error: the reader's to fix (bad parameters or data:
// AttnError, DataError) or a fault of the lab. No DOM.

/** True for errors the reader can fix: an AttnError (bad parameters) or a DataError (bad data). */
export const isReaderError = (err) => err?.name === 'AttnError' || err?.name === 'DataError';

/** An error as one line: the AttnError code first, when it has one ("ERR_SHAPE: softmaxWeights: …"). */
export function errorText(err) {
  const message = err?.message ?? String(err);
  if (err?.code) return `${err.code}: ${message}`;
  return isReaderError(err) ? message : `${err?.name ?? 'Error'}: ${message}`;
}
