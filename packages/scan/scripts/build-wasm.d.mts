export function expandMacros(text: string): string;
export function assemble(source: string): Promise<{ shared: Buffer; private: Buffer }>;
export function generatedModule(source: string, binaries: { shared: Buffer; private: Buffer }): string;
