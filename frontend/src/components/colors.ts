import type { AnomalyCode, Severity } from "../api/types";

// Okabe-Ito, a palette told apart with the common colour-vision deficiencies; text colours keep 4.5:1 on white.
export const COLORS = {
  blue: "#0072B2",
  orange: "#E69F00",
  vermillion: "#D55E00",
  green: "#009E73",
  sky: "#56B4E9",
  purple: "#CC79A7",
  grey: "#6b6b6b",
  band: "#cfe5f5",
} as const;

export const ANOMALY_COLORS = {
  voltage_imbalance: COLORS.blue,
  overheating: COLORS.vermillion,
  low_soh: COLORS.orange,
} as const satisfies Record<AnomalyCode, string>;

export const SEVERITY_COLORS = { warning: COLORS.orange, critical: COLORS.vermillion } as const satisfies Record<Severity, string>;
