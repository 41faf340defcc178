/**
 * Building blocks every page uses: the page title, the API's error shown as an alert, a loading
 * indicator, a confirmation dialog, and a server-paged table (MUI's TablePagination over
 * lib/use-api.ts's usePaged: only one page is ever loaded).
 */
import { useState, type ReactNode } from 'react';
import {
  Alert,
  Box,
  Button,
  CircularProgress,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TablePagination,
  TableRow,
  Typography,
  Paper,
} from '@mui/material';
import type { Paged } from '../lib/use-api.ts';

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  return (
    <Box sx={{ display: 'flex', alignItems: 'center', gap: 2, mb: 2 }}>
      <Typography variant="h5" component="h1" sx={{ flexGrow: 1 }}>
        {children}
      </Typography>
      {actions}
    </Box>
  );
}

/** The API's message, or nothing. */
export function ErrorAlert({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return (
    <Alert severity="error" role="alert" sx={{ mb: 2 }}>
      {error}
    </Alert>
  );
}

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <Box sx={{ display: 'flex', justifyContent: 'center', p: 3 }} role="status" aria-label={label}>
      <CircularProgress size={28} />
    </Box>
  );
}

/** A yes/no dialog; `onConfirm` may reject: its message is shown and the dialog stays open. */
export function ConfirmDialog({ open, title, text, confirmLabel = 'Delete', onConfirm, onClose }: { open: boolean; title: string; text: ReactNode; confirmLabel?: string; onConfirm: () => Promise<void>; onClose: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog open={open} onClose={onClose} aria-labelledby="confirm-title">
      <DialogTitle id="confirm-title">{title}</DialogTitle>
      <DialogContent>
        <ErrorAlert error={error} />
        <DialogContentText component="div">{text}</DialogContentText>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button
          color="error"
          variant="contained"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(null);
            try {
              await onConfirm();
              onClose();
            } catch (err) {
              setError(err instanceof Error ? err.message : String(err));
            } finally {
              setBusy(false);
            }
          }}
        >
          {confirmLabel}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

export interface Column<T> {
  label: string;
  render: (row: T) => ReactNode;
  width?: number | string;
}

/**
 * A table of `rows` with its loading and error states; `children` go below it (PagedTable's
 * paging controls). Lists the API does not page (queues, pools, workers) use it directly.
 */
export function PlainTable<T>({ rows, columns, rowKey, label, empty = 'Nothing here.', loading = false, error = null, children }: { rows: T[] | undefined; columns: Column<T>[]; rowKey: (row: T) => string | number; label: string; empty?: string; loading?: boolean; error?: string | null; children?: ReactNode }) {
  const items = rows ?? [];
  return (
    <Paper variant="outlined">
      <ErrorAlert error={error} />
      <TableContainer>
        <Table size="small" aria-label={label}>
          <TableHead>
            <TableRow>
              {columns.map((c) => (
                <TableCell key={c.label} sx={{ width: c.width, fontWeight: 600 }}>
                  {c.label}
                </TableCell>
              ))}
            </TableRow>
          </TableHead>
          <TableBody>
            {items.map((row) => (
              <TableRow key={rowKey(row)} hover>
                {columns.map((c) => (
                  <TableCell key={c.label}>{c.render(row)}</TableCell>
                ))}
              </TableRow>
            ))}
            {!loading && items.length === 0 && !error ? (
              <TableRow>
                <TableCell colSpan={columns.length}>{empty}</TableCell>
              </TableRow>
            ) : null}
          </TableBody>
        </Table>
      </TableContainer>
      {loading ? <Loading /> : null}
      {children}
    </Paper>
  );
}

/** A table of one server page of `list`, with its paging controls and its loading and error states. */
export function PagedTable<T>({ list, columns, rowKey, empty = 'Nothing here yet.', label }: { list: Paged<T>; columns: Column<T>[]; rowKey: (row: T) => string | number; empty?: string; label: string }) {
  return (
    <PlainTable rows={list.data?.items} columns={columns} rowKey={rowKey} label={label} empty={empty} loading={list.loading} error={list.error}>
      <TablePagination
        component="div"
        count={list.data?.total ?? -1}
        page={list.page - 1}
        rowsPerPage={list.pageSize}
        rowsPerPageOptions={[15, 25, 50, 100]}
        onPageChange={(_, p) => list.setPage(p + 1)}
        onRowsPerPageChange={(e) => {
          list.setPageSize(Number(e.target.value));
          list.setPage(1);
        }}
      />
    </PlainTable>
  );
}
