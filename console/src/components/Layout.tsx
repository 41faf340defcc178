/**
 * The frame around every signed-in page: the top bar (product name, light/dark switch, the
 * signed-in user and sign-out) and the navigation (Harbor's sections; the administration ones
 * for system admins only). Keyboard reachable: every entry is a link or a button.
 */
import { useState, type ReactNode } from 'react';
import { Link as RouterLink, useLocation, useNavigate } from 'react-router';
import { AppBar, Box, Button, Divider, Drawer, IconButton, List, ListItemButton, ListItemText, ListSubheader, Toolbar, Tooltip, Typography } from '@mui/material';
import { useSession } from '../lib/session.tsx';

const drawerWidth = 232;

interface NavItem {
  label: string;
  to: string;
}

const everyone: NavItem[] = [
  { label: 'Projects', to: '/projects' },
  { label: 'Logs', to: '/logs' },
];

const administration: NavItem[] = [
  { label: 'Users', to: '/users' },
  { label: 'Robot Accounts', to: '/robot-accounts' },
  { label: 'Registries', to: '/registries' },
  { label: 'Replications', to: '/replications' },
  { label: 'Labels', to: '/labels' },
  { label: 'Project Quotas', to: '/project-quotas' },
  { label: 'Interrogation Services', to: '/interrogation-services/scanners' },
  { label: 'Clean Up', to: '/clearing-job/gc' },
  { label: 'Job Service Dashboard', to: '/job-service-dashboard/pending-jobs' },
  { label: 'Configuration', to: '/configs/auth' },
];

function NavList({ items, current }: { items: NavItem[]; current: string }) {
  return (
    <>
      {items.map((i) => {
        const section = '/' + (i.to.split('/')[1] ?? '');
        const selected = current === i.to || current.startsWith(section + '/') || current === section;
        return (
          <ListItemButton key={i.to} component={RouterLink} to={i.to} selected={selected} aria-current={selected ? 'page' : undefined}>
            <ListItemText primary={i.label} />
          </ListItemButton>
        );
      })}
    </>
  );
}

export function Layout({ children, mode, onToggleMode }: { children: ReactNode; mode: 'light' | 'dark'; onToggleMode: () => void }) {
  const { user, signOut } = useSession();
  const location = useLocation();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  return (
    <Box sx={{ display: 'flex', minHeight: '100vh' }}>
      <AppBar position="fixed" sx={{ zIndex: (t) => t.zIndex.drawer + 1 }}>
        <Toolbar>
          <Typography variant="h6" component="div" sx={{ flexGrow: 1 }}>
            Wharf
          </Typography>
          <Tooltip title={mode === 'dark' ? 'Light theme' : 'Dark theme'}>
            <IconButton color="inherit" onClick={onToggleMode} aria-label={mode === 'dark' ? 'Switch to the light theme' : 'Switch to the dark theme'}>
              {mode === 'dark' ? '☀' : '☾'}
            </IconButton>
          </Tooltip>
          <Typography sx={{ mx: 2 }} aria-label="Signed in as">
            {user?.username}
          </Typography>
          <Button
            color="inherit"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              await signOut();
              setBusy(false);
              void navigate('/sign-in');
            }}
          >
            Sign out
          </Button>
        </Toolbar>
      </AppBar>
      <Drawer variant="permanent" sx={{ width: drawerWidth, flexShrink: 0, '& .MuiDrawer-paper': { width: drawerWidth, boxSizing: 'border-box' } }}>
        <Toolbar />
        <nav aria-label="Main">
          <List dense>
            <NavList items={everyone} current={location.pathname} />
          </List>
          {user?.sysadmin_flag ? (
            <>
              <Divider />
              <List dense subheader={<ListSubheader>Administration</ListSubheader>}>
                <NavList items={administration} current={location.pathname} />
              </List>
            </>
          ) : null}
        </nav>
      </Drawer>
      <Box component="main" sx={{ flexGrow: 1, p: 3, minWidth: 0 }}>
        <Toolbar />
        {children}
      </Box>
    </Box>
  );
}
