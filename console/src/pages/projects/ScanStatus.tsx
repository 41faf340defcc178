/** An artifact's scan status: the status text and chips with the counts by severity (helpers.ts computes them). */
import { Box, Chip, Typography } from '@mui/material';
import { scanOverviewOf, scanText, severityCounts, type Severity } from './helpers.ts';
import type { Artifact } from './types.ts';

const colors: Record<Severity, 'error' | 'warning' | 'info' | 'default' | 'secondary'> = {
  Critical: 'error',
  High: 'error',
  Medium: 'warning',
  Low: 'info',
  Negligible: 'default',
  Unknown: 'secondary',
};

export function SeverityChips({ counts }: { counts: Array<{ severity: Severity; count: number }> }) {
  return (
    <Box sx={{ display: 'flex', gap: 0.5, flexWrap: 'wrap' }}>
      {counts.map((c) => (
        <Chip key={c.severity} size="small" color={colors[c.severity]} variant={c.severity === 'Critical' ? 'filled' : 'outlined'} label={`${c.severity} ${c.count}`} />
      ))}
    </Box>
  );
}

export function ScanStatus({ artifact }: { artifact: Pick<Artifact, 'scan_overview'> }) {
  const o = scanOverviewOf(artifact);
  const counts = severityCounts(o);
  return (
    <Box aria-label="Vulnerabilities" role="group">
      <Typography variant="body2">{scanText(o)}</Typography>
      {counts.length > 0 ? <SeverityChips counts={counts} /> : null}
    </Box>
  );
}
