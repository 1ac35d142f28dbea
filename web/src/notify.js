// The browser's notifications (the Notifications API), for alerts while
// the page is open: only once the person allowed them.

export const supported = () => typeof Notification === 'function';

// permission is 'granted', 'denied', 'default', or 'unsupported'.
export const permission = () => (supported() ? Notification.permission : 'unsupported');

// ask asks the browser for permission; it answers the permission.
export async function ask() {
  if (!supported()) return 'unsupported';
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

// notify shows a browser notification when allowed; tag keeps one per
// alert, however many tabs show it.
export function notify(title, body, tag) {
  if (permission() !== 'granted') return false;
  try {
    // eslint-disable-next-line no-new
    new Notification(title, { body, tag });
    return true;
  } catch {
    return false; // some browsers allow them only from a service worker
  }
}
