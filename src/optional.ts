// Optional peer dependencies (package.json peerDependenciesMeta): the storage drivers, loaded only
// by the code that uses them, with an error naming the package to install when one is missing.

/** A feature needs a package that is not installed. */
export class MissingPackageError extends Error {
  override readonly name = 'MissingPackageError';
  constructor(readonly packageName: string, readonly feature: string) {
    super(`${feature} needs the package '${packageName}', which is not installed: npm install ${packageName}`);
  }
}

/** Whether an import failed because `pkg` itself (not something inside it) is missing. */
export function isMissing(e: unknown, pkg: string): boolean {
  const err = e as { code?: string; message?: string };
  return (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') && new RegExp(`['"]${pkg.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}['"/]`).test(err.message ?? '');
}

/** `load()` (a dynamic import of a module using `pkg`), a MissingPackageError if `pkg` is not installed. */
export async function loadOptional<T>(pkg: string, feature: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (isMissing(e, pkg)) throw new MissingPackageError(pkg, feature);
    throw e;
  }
}
