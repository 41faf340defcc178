/**
 * One artifact (`…/artifacts-tab/artifacts/:digest`): its facts and pull command, "Scan" and
 * "Generate SBOM", tags (add, delete), labels (add, remove), an index's children, the
 * vulnerability list (`additions/vulnerabilities`), the SBOM documents (Harbor's SBOM accessories,
 * `additions/sbom`) viewed and downloaded as JSON, the accessories (`with_accessory=true`) and the
 * build history of an image.
 */
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { Link as RouterLink } from 'react-router';
import {
  Box,
  Button,
  Chip,
  Link,
  MenuItem,
  Paper,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TablePagination,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { ConfirmDialog, ErrorAlert, Loading } from '../../components/common.tsx';
import { get, getText, repoPath, write } from '../../lib/api.ts';
import { formatSize, formatTime, pullCommand, shortDigest } from '../../lib/format.ts';
import { useApi } from '../../lib/use-api.ts';
import { useRegistryHost } from './Artifacts.tsx';
import { isIndex, platformText, repoSegment, scanInProgress, sortVulnerabilities, vulnerabilityReport } from './helpers.ts';
import { CopyPullCommand } from './PullCommand.tsx';
import type { RepoPageProps } from './RepositoryPage.tsx';
import { ScanStatus } from './ScanStatus.tsx';
import type { Artifact, Label, Tag, Vulnerability } from './types.ts';

function Section({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  const id = `section-${title.toLowerCase().replace(/[^a-z]+/g, '-')}`;
  return (
    <Paper variant="outlined" component="section" aria-labelledby={id} sx={{ p: 2, mb: 2 }}>
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, mb: 1 }}>
        <Typography variant="subtitle1" component="h3" id={id} sx={{ flexGrow: 1, fontWeight: 600 }}>
          {title}
        </Typography>
        {actions}
      </Box>
      {children}
    </Paper>
  );
}

function Facts({ rows }: { rows: Array<[string, ReactNode]> }) {
  return (
    <Box component="dl" sx={{ display: 'grid', gridTemplateColumns: 'max-content 1fr', columnGap: 2, rowGap: 0.5, m: 0 }}>
      {rows.map(([k, v]) => (
        <Box key={k} sx={{ display: 'contents' }}>
          <Typography component="dt" variant="body2" color="text.secondary">
            {k}
          </Typography>
          <Typography component="dd" variant="body2" sx={{ m: 0, wordBreak: 'break-all' }}>
            {v}
          </Typography>
        </Box>
      ))}
    </Box>
  );
}

function SimpleTable({ label, head, rows }: { label: string; head: string[]; rows: ReactNode[][] }) {
  return (
    <TableContainer>
      <Table size="small" aria-label={label}>
        <TableHead>
          <TableRow>
            {head.map((h) => (
              <TableCell key={h} sx={{ fontWeight: 600 }}>
                {h}
              </TableCell>
            ))}
          </TableRow>
        </TableHead>
        <TableBody>
          {rows.map((r, i) => (
            <TableRow key={i}>
              {r.map((c, j) => (
                <TableCell key={j}>{c}</TableCell>
              ))}
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
}

function TagsSection({ artifact, apiBase, onChange }: { artifact: Artifact; apiBase: string; onChange: () => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Tag | null>(null);
  const add = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await write('POST', `${apiBase}/artifacts/${artifact.digest}/tags`, { name: name.trim() });
      setName('');
      onChange();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  const tags = artifact.tags ?? [];
  return (
    <Section title="Tags">
      <ErrorAlert error={error} />
      <Box component="form" onSubmit={add} sx={{ display: 'flex', gap: 1, mb: 1 }}>
        <TextField label="Tag name" size="small" value={name} onChange={(e) => setName(e.target.value)} />
        <Button type="submit" variant="outlined" disabled={name.trim() === ''}>
          Add Tag
        </Button>
      </Box>
      {tags.length === 0 ? (
        <Typography color="text.secondary">No tags.</Typography>
      ) : (
        <SimpleTable
          label="Tags"
          head={['Tag', 'Push Time', 'Pull Time', 'Actions']}
          rows={tags.map((t) => [
            t.name,
            formatTime(t.push_time),
            formatTime(t.pull_time),
            <Button key="d" size="small" color="error" aria-label={`Delete tag ${t.name}`} onClick={() => setDeleting(t)}>
              Delete
            </Button>,
          ])}
        />
      )}
      <ConfirmDialog
        key={deleting?.id ?? 0}
        open={deleting !== null}
        title="Delete tag"
        text={`Delete the tag ${deleting?.name ?? ''}? The artifact stays.`}
        onConfirm={async () => {
          if (deleting) await write('DELETE', `${apiBase}/artifacts/${artifact.digest}/tags/${encodeURIComponent(deleting.name)}`);
          onChange();
        }}
        onClose={() => setDeleting(null)}
      />
    </Section>
  );
}

function LabelsSection({ artifact, apiBase, projectId, onChange }: { artifact: Artifact; apiBase: string; projectId: number; onChange: () => void }) {
  const [picked, setPicked] = useState('');
  const [error, setError] = useState<string | null>(null);
  const available = useApi(async (signal) => {
    const [p, g] = await Promise.all([get<Label[]>(`/labels?scope=p&project_id=${projectId}&page_size=100`, { signal }), get<Label[]>('/labels?scope=g&page_size=100', { signal }).catch(() => [] as Label[])]);
    return [...(p ?? []), ...(g ?? [])];
  }, [projectId]);
  const have = new Set((artifact.labels ?? []).map((l) => l.id));
  const choices = (available.data ?? []).filter((l) => !have.has(l.id));
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      onChange();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <Section title="Labels">
      <ErrorAlert error={error ?? available.error} />
      <Box sx={{ display: 'flex', gap: 0.5, flexWrap: 'wrap', mb: 1 }}>
        {(artifact.labels ?? []).length === 0 ? <Typography color="text.secondary">No labels.</Typography> : null}
        {(artifact.labels ?? []).map((l) => (
          <Chip key={l.id} label={l.name} onDelete={() => void act(() => write('DELETE', `${apiBase}/artifacts/${artifact.digest}/labels/${l.id}`))} sx={l.color ? { borderColor: l.color } : undefined} variant="outlined" />
        ))}
      </Box>
      <Box sx={{ display: 'flex', gap: 1 }}>
        <TextField select label="Label" size="small" value={picked} onChange={(e) => setPicked(e.target.value)} sx={{ minWidth: 200 }} disabled={choices.length === 0}>
          {choices.map((l) => (
            <MenuItem key={l.id} value={String(l.id)}>
              {l.name} {l.scope === 'g' ? '(global)' : ''}
            </MenuItem>
          ))}
        </TextField>
        <Button
          variant="outlined"
          disabled={picked === ''}
          onClick={() =>
            void act(async () => {
              await write('POST', `${apiBase}/artifacts/${artifact.digest}/labels`, { id: Number(picked) });
              setPicked('');
            })
          }
        >
          Add Label
        </Button>
      </Box>
    </Section>
  );
}

function VulnerabilitiesSection({ artifact, apiBase }: { artifact: Artifact; apiBase: string }) {
  const scanned = artifact.scan_overview ? Object.values(artifact.scan_overview)[0]?.scan_status : undefined;
  const report = useApi((signal) => get<Record<string, unknown>>(`${apiBase}/artifacts/${artifact.digest}/additions/vulnerabilities`, { signal }), [apiBase, artifact.digest, scanned]);
  const [page, setPage] = useState(0);
  const [size, setSize] = useState(25);
  const r = vulnerabilityReport(report.data);
  const vulns = sortVulnerabilities(r?.vulnerabilities ?? []);
  const shown = vulns.slice(page * size, page * size + size);
  return (
    <Section title="Vulnerabilities" actions={<ScanStatus artifact={artifact} />}>
      <ErrorAlert error={report.error} />
      {report.loading && !report.data ? <Loading /> : null}
      {r === null && !report.loading ? <Typography color="text.secondary">No vulnerability report: press Scan.</Typography> : null}
      {r !== null ? (
        <>
          <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
            {r.scanner ? `Scanned by ${r.scanner.name} ${r.scanner.version ?? ''}` : ''} {r.generated_at ? `at ${formatTime(r.generated_at)}` : ''}
          </Typography>
          {vulns.length === 0 ? (
            <Typography>No vulnerabilities found.</Typography>
          ) : (
            <>
              <SimpleTable
                label="Vulnerabilities"
                head={['Vulnerability', 'Severity', 'CVSS3', 'Package', 'Current version', 'Fixed in version', 'Description']}
                rows={shown.map((v: Vulnerability) => [
                  v.links?.[0] ? (
                    <Link key="l" href={v.links[0]} target="_blank" rel="noreferrer">
                      {v.id}
                    </Link>
                  ) : (
                    v.id
                  ),
                  v.severity,
                  v.preferred_cvss?.score_v3 ?? '',
                  v.package,
                  v.version,
                  v.fix_version ?? '',
                  <Typography key="d" variant="body2" sx={{ maxWidth: 420, overflow: 'hidden', textOverflow: 'ellipsis', display: '-webkit-box', WebkitLineClamp: 2, WebkitBoxOrient: 'vertical' }} title={v.description}>
                    {v.description}
                  </Typography>,
                ])}
              />
              <TablePagination
                component="div"
                count={vulns.length}
                page={page}
                rowsPerPage={size}
                rowsPerPageOptions={[25, 50, 100]}
                onPageChange={(_, p) => setPage(p)}
                onRowsPerPageChange={(e) => {
                  setSize(Number(e.target.value));
                  setPage(0);
                }}
              />
            </>
          )}
        </>
      ) : null}
    </Section>
  );
}

/** Which SBOM format a document is (SPDX or CycloneDX), from its own fields. */
function sbomFormat(doc: unknown): string {
  if (doc && typeof doc === 'object') {
    if ('spdxVersion' in doc) return `SPDX (${String((doc as { spdxVersion: unknown }).spdxVersion)})`;
    if ('bomFormat' in doc) return `CycloneDX ${String((doc as { specVersion?: unknown }).specVersion ?? '')}`;
  }
  return 'JSON';
}

function SbomSection({ artifact, apiBase, fileStem, onScan }: { artifact: Artifact; apiBase: string; fileStem: string; onScan: () => void }) {
  const primary = artifact.sbom_overview?.sbom_digest;
  const docs = [...new Set([...(primary ? [primary] : []), ...(artifact.accessories ?? []).filter((a) => a.type === 'sbom.harbor').map((a) => a.digest)])];
  const [chosen, setChosen] = useState<string>('');
  const digest = chosen !== '' && docs.includes(chosen) ? chosen : (docs[0] ?? '');
  const sbom = useApi(async (signal) => (digest === '' ? null : getText(`${apiBase}/artifacts/${digest}/additions/sbom`, { signal })), [apiBase, digest]);
  let pretty = sbom.data ?? '';
  let format = '';
  try {
    const parsed = JSON.parse(pretty) as unknown;
    format = sbomFormat(parsed);
    pretty = JSON.stringify(parsed, null, 2);
  } catch {
    /* show as it is */
  }
  const download = () => {
    const blob = new Blob([sbom.data ?? ''], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `${fileStem}-${shortDigest(digest).replace(':', '-')}.sbom.json`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  const status = artifact.sbom_overview?.scan_status;
  return (
    <Section
      title="SBOM"
      actions={
        <>
          {status ? <Chip size="small" label={`SBOM: ${status}`} /> : null}
          <Button size="small" variant="outlined" onClick={onScan}>
            Generate SBOM
          </Button>
          <Button size="small" variant="contained" disabled={!sbom.data} onClick={download}>
            Download SBOM
          </Button>
        </>
      }
    >
      <ErrorAlert error={sbom.error} />
      {docs.length === 0 ? <Typography color="text.secondary">No SBOM yet: press Generate SBOM.</Typography> : null}
      {docs.length > 1 ? (
        <TextField select size="small" label="SBOM document" value={digest} onChange={(e) => setChosen(e.target.value)} sx={{ mb: 1, minWidth: 320 }}>
          {docs.map((d) => (
            <MenuItem key={d} value={d}>
              {shortDigest(d)}
              {d === primary ? ' (SPDX)' : ''}
            </MenuItem>
          ))}
        </TextField>
      ) : null}
      {sbom.loading && digest !== '' ? <Loading label="Loading the SBOM" /> : null}
      {sbom.data ? (
        <>
          <Typography variant="body2" color="text.secondary">
            {format} · {formatSize(sbom.data.length)}
          </Typography>
          <Box component="pre" aria-label="SBOM JSON" tabIndex={0} sx={{ maxHeight: 360, overflow: 'auto', bgcolor: 'action.hover', p: 1, fontSize: 12, mt: 1 }}>
            {pretty.length > 200_000 ? pretty.slice(0, 200_000) + '\n… (download for the whole document)' : pretty}
          </Box>
        </>
      ) : null}
    </Section>
  );
}

function BuildHistory({ apiBase, digest }: { apiBase: string; digest: string }) {
  const h = useApi((signal) => get<Array<{ created?: string; created_by?: string; comment?: string; empty_layer?: boolean }>>(`${apiBase}/artifacts/${digest}/additions/build_history`, { signal }), [apiBase, digest]);
  return (
    <Section title="Build History">
      <ErrorAlert error={h.error} />
      {h.data ? (
        <SimpleTable label="Build history" head={['Created', 'Command']} rows={h.data.map((s) => [formatTime(s.created), <code key="c">{s.created_by ?? s.comment ?? ''}</code>])} />
      ) : null}
    </Section>
  );
}

export function ArtifactDetail({ project, repo, digest }: RepoPageProps & { digest: string }) {
  const apiBase = `/projects/${encodeURIComponent(project.name)}/repositories/${repoPath(repo)}`;
  const host = useRegistryHost();
  const [actionError, setActionError] = useState<string | null>(null);
  const art = useApi(
    (signal) => get<Artifact>(`${apiBase}/artifacts/${digest}?with_tag=true&with_label=true&with_scan_overview=true&with_sbom_overview=true&with_accessory=true`, { signal }),
    [apiBase, digest],
  );
  const a = art.data;
  const busy = a ? scanInProgress(a) : false;
  const reload = art.reload;
  useEffect(() => {
    if (!busy || art.loading) return;
    const t = setTimeout(reload, 2000);
    return () => clearTimeout(t);
  }, [busy, art.loading, reload]);
  if (!a) return art.loading ? <Loading label="Loading the artifact" /> : <ErrorAlert error={art.error ?? 'The artifact could not be loaded.'} />;
  const scan = async (type: 'vulnerability' | 'sbom') => {
    setActionError(null);
    try {
      await write('POST', `${apiBase}/artifacts/${a.digest}/scan`, { scan_type: type });
      reload();
    } catch (err) {
      setActionError(err instanceof Error ? err.message : String(err));
    }
  };
  const tag = a.tags?.[0]?.name ?? null;
  const childUrl = (d: string) => `/projects/${project.project_id}/repositories/${repoSegment(repo)}/artifacts-tab/artifacts/${d}`;
  const platform = platformText(a.extra_attrs ?? null);
  return (
    <>
      <ErrorAlert error={actionError ?? art.error} />
      <Section
        title="Overview"
        actions={
          <>
            <Button variant="contained" size="small" onClick={() => void scan('vulnerability')}>
              Scan
            </Button>
            <CopyPullCommand command={pullCommand(host, `${project.name}/${repo}`, tag, a.digest)} />
          </>
        }
      >
        <Facts
          rows={[
            ['Digest', <code key="d">{a.digest}</code>],
            ['Type', isIndex(a) ? `${a.type} (index)` : a.type],
            ['Media type', a.manifest_media_type],
            ...(a.artifact_type && a.artifact_type !== a.media_type ? ([['Artifact type', a.artifact_type]] as Array<[string, ReactNode]>) : []),
            ['Size', formatSize(a.size)],
            ...(platform ? ([['Platform', platform]] as Array<[string, ReactNode]>) : []),
            ...(a.extra_attrs?.author ? ([['Author', a.extra_attrs.author]] as Array<[string, ReactNode]>) : []),
            ...(a.extra_attrs?.created ? ([['Created', formatTime(a.extra_attrs.created)]] as Array<[string, ReactNode]>) : []),
            ['Push Time', formatTime(a.push_time)],
            ['Pull Time', formatTime(a.pull_time) || 'never'],
          ]}
        />
      </Section>
      {a.references && a.references.length > 0 ? (
        <Section title="Children">
          <SimpleTable
            label="Children of the index"
            head={['Platform', 'Digest']}
            rows={a.references.map((r) => [
              platformText(r.platform) || 'unknown',
              <Link key="l" component={RouterLink} to={childUrl(r.child_digest)} sx={{ fontFamily: 'monospace' }}>
                {shortDigest(r.child_digest)}
              </Link>,
            ])}
          />
        </Section>
      ) : null}
      <TagsSection artifact={a} apiBase={apiBase} onChange={reload} />
      <LabelsSection artifact={a} apiBase={apiBase} projectId={project.project_id} onChange={reload} />
      <VulnerabilitiesSection artifact={a} apiBase={apiBase} />
      <SbomSection artifact={a} apiBase={apiBase} fileStem={`${project.name}-${repo}`.replace(/[^a-zA-Z0-9._-]+/g, '-')} onScan={() => void scan('sbom')} />
      <Section title="Accessories">
        {(a.accessories ?? []).length === 0 ? (
          <Typography color="text.secondary">No accessories (signatures, SBOMs, other referrers).</Typography>
        ) : (
          <SimpleTable
            label="Accessories"
            head={['Type', 'Digest', 'Size', 'Creation Time']}
            rows={(a.accessories ?? []).map((x) => [
              x.type,
              <Link key="l" component={RouterLink} to={childUrl(x.digest)} sx={{ fontFamily: 'monospace' }}>
                {shortDigest(x.digest)}
              </Link>,
              formatSize(x.size),
              formatTime(x.creation_time),
            ])}
          />
        )}
      </Section>
      {a.addition_links?.build_history ? <BuildHistory apiBase={apiBase} digest={a.digest} /> : null}
    </>
  );
}
