export function bundle(options: {
  entry: string;
  outfile: string;
  platform: "node" | "browser";
}): Promise<string>;
