/**
 * The copy-the-pull-command button: writes `docker pull host/project/repo:tag` to the clipboard
 * (navigator.clipboard); where the browser refuses (no secure context, no permission) the command
 * is shown in a dialog, selected, to copy by hand.
 */
import { useState } from 'react';
import { Button, Dialog, DialogActions, DialogContent, DialogTitle, Snackbar, TextField } from '@mui/material';

/** `text` is the visible text (default the whole name); the accessible name is always "Copy Pull Command". */
export function CopyPullCommand({ command, text = 'Copy Pull Command' }: { command: string; text?: string }) {
  const [copied, setCopied] = useState(false);
  const [manual, setManual] = useState(false);
  const copy = async () => {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(command);
      setCopied(true);
    } catch {
      setManual(true);
    }
  };
  return (
    <>
      <Button size="small" onClick={() => void copy()} title={command} aria-label="Copy Pull Command">
        {text}
      </Button>
      <Snackbar open={copied} autoHideDuration={4000} onClose={() => setCopied(false)} message={`Copied: ${command}`} />
      <Dialog open={manual} onClose={() => setManual(false)} aria-labelledby="pull-command-title" fullWidth maxWidth="sm">
        <DialogTitle id="pull-command-title">Pull command</DialogTitle>
        <DialogContent>
          <TextField
            label="Pull command"
            value={command}
            fullWidth
            margin="normal"
            helperText="The browser did not allow copying: select the command and copy it."
            slotProps={{ htmlInput: { readOnly: true } }}
            onFocus={(e) => e.target.select()}
            autoFocus
          />
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setManual(false)}>Close</Button>
        </DialogActions>
      </Dialog>
    </>
  );
}
