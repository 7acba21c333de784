/** Types of layers.js (plain JavaScript, because eslint.config.js loads it with Node as it is). */
export declare const LAYERS: Readonly<Record<string, readonly string[]>>;
export declare const TYPE_ONLY: Readonly<Record<string, readonly string[]>>;
export declare function layerOf(pathInSrc: string): string;
