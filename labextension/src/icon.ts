/** The sidebar's tab icon: a notebook page with a forward arrow (a workflow that runs). */

import { LabIcon } from '@jupyterlab/ui-components';

const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M5 2h10l4 4v6.5h-2V7h-3V4H7v16h6v2H5z"/>
    <path d="M9 9h6v1.6H9zM9 12.2h4v1.6H9zM15.5 14.5 21 18l-5.5 3.5z"/>
  </g>
</svg>`;

export const jetnbIcon = new LabIcon({ name: 'jetnb:workflow', svgstr });
