// What the page takes from viem; esbuild bundles it (from the repository root's node_modules)
// into one browser module.
export { verifyTypedData } from 'viem';
