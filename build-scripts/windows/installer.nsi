; obs-rtc-golive's Windows installer (NSIS 3, Unicode). build-scripts/windows/package.sh builds it:
;
;   makensis -INPUTCHARSET UTF8 -DVERSION=0.1.0 -DVI_VERSION=0.1.0.0 -DDLL=.../obs-rtc-golive.dll
;            -DLOCALE_DIR=data/locale -DSIZE_KB=1234 -DOUTFILE=...-installer.exe installer.nsi
;
; It installs the plugin into the OBS Studio that OBS's own installer registered (the default
; value of HKLM\SOFTWARE\OBS Studio, 64-bit view), or into %ProgramFiles%\obs-studio when that
; key is missing or stale and that folder holds bin\64bit\obs64.exe (or into the folder given
; with /D=, which must hold it too):
;   <OBS>\obs-plugins\64bit\obs-rtc-golive.dll
;   <OBS>\data\obs-plugins\obs-rtc-golive\locale\*.ini
; The uninstaller goes into %ProgramFiles%\obs-rtc-golive, outside OBS's folder, with install.ini
; remembering that folder, so that it outlives OBS being moved or reinstalled; it is registered in
; Add/Remove Programs as HKLM\...\Uninstall\obs-rtc-golive. Nothing is downloaded.
;
; Before anything is written, the installer refuses (a message box, which /S answers with OK,
; a line on standard output when it has one, and an exit code) when:
;   3  it does not run as an administrator (UserInfo::GetAccountType)
;   4  OBS Studio is not found
;   5  OBS Studio is running: OBS's single-instance mutex "OBSStudioCore" exists (GetRunOnceMutex
;      in OBS's frontend, platform-windows.cpp, creates it at start), or a process named
;      obs64.exe runs (what OBS's own installer checks, with OBSInstallerUtils::IsProcessRunning;
;      it also catches a portable OBS, whose mutex has another name), or the installed plugin DLL
;      cannot be opened for writing (a program has it loaded)
;   7  Windows is not 64-bit
; and exits with 6 when a file could not be written, after taking back what a first install had
; written (an update keeps its registration, so that the uninstaller still removes everything).
; 0 is success; 1 a user's cancel and 2 an abort are NSIS's own.
;
; The uninstaller (exit codes 3, 5 and 7 as above; 0 success) removes the plugin's files from the
; folder it installed into and from the folder OBS is registered in now (when OBS was moved and
; reinstalled), the registration and itself. When it found the files in neither, it still removes
; the registration, says which folder it looked in, and exits with 8; when some could not be
; removed, it says so and exits with 6. Like every NSIS
; uninstaller it hands over to a copy of itself in %TEMP% and returns at once, unless it is run
; with _?=<its folder> (then it runs in place, its exit code is the result, and it leaves
; uninstall.exe and its folder for the caller to delete).
;
; Messages are in English and Simplified Chinese, chosen by the user's UI language.

Unicode true
ManifestDPIAware true
SetCompressor /SOLID lzma
RequestExecutionLevel admin

!ifndef VERSION | DLL | LOCALE_DIR | OUTFILE | SIZE_KB | VI_VERSION
  !error "build with build-scripts/windows/package.sh (VERSION, VI_VERSION, DLL, LOCALE_DIR, SIZE_KB, OUTFILE)"
!endif

!include MUI2.nsh
!include LogicLib.nsh
!include x64.nsh

!define PRODUCT "obs-rtc-golive"
!define DISPLAY_NAME "OBS RTC Go-Live"
!define PUBLISHER "obs-rtc-golive developers"
!define UNINST_KEY "SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\${PRODUCT}"
!define OBS_KEY "SOFTWARE\OBS Studio"
!define OBS_EXE "bin\64bit\obs64.exe"
!define PLUGIN_DLL "obs-plugins\64bit\${PRODUCT}.dll"
!define PLUGIN_DATA "data\obs-plugins\${PRODUCT}"
!define UNINST_DIR "$PROGRAMFILES64\${PRODUCT}"
!define UNINST_EXE "uninstall.exe"

!define EXIT_NOT_ADMIN 3
!define EXIT_NO_OBS 4
!define EXIT_OBS_RUNNING 5
!define EXIT_WRITE_FAILED 6
!define EXIT_NOT_X64 7
!define EXIT_FILES_NOT_FOUND 8

Name "${DISPLAY_NAME} ${VERSION}"
BrandingText "${DISPLAY_NAME} ${VERSION}"
OutFile "${OUTFILE}"
; No InstallDir: .onInit finds OBS (or checks the folder /D= gave).
ShowInstDetails show
ShowUninstDetails show

; The installer's: whether a registration existed before (an update), for the roll-back.
Var Updating
; The uninstaller's: the OBS folder it installed into, whether the files were found there (or
; where OBS is registered now), and whether some could not be removed.
Var UnObsDir
Var UnFound
Var UnFailed

; ---------------------------------------------------------------------------------------------
; Pages

!define MUI_ABORTWARNING
!define MUI_DIRECTORYPAGE_TEXT_TOP "$(DirTop)"
!define MUI_DIRECTORYPAGE_TEXT_DESTINATION "$(DirDestination)"
!define MUI_PAGE_CUSTOMFUNCTION_LEAVE DirLeave
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!define MUI_FINISHPAGE_TEXT "$(FinishText)"
!insertmacro MUI_PAGE_FINISH

!define MUI_UNCONFIRMPAGE_TEXT_TOP "$(UnConfirmTop)"
!define MUI_UNCONFIRMPAGE_TEXT_LOCATION "$(UnConfirmLocation)"
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "SimpChinese"

; ---------------------------------------------------------------------------------------------
; Messages ($INSTDIR is the OBS folder in the installer; $UnObsDir in the uninstaller)

LangString DirTop ${LANG_ENGLISH} "${DISPLAY_NAME} is installed into OBS Studio's folder. This is the folder OBS Studio was installed in; choose another one only if OBS Studio is somewhere else."
LangString DirTop ${LANG_SIMPCHINESE} "${DISPLAY_NAME} 会安装到 OBS Studio 的安装文件夹中。下面是 OBS Studio 的安装位置；只有当 OBS Studio 装在别处时才需要更改。"
LangString DirDestination ${LANG_ENGLISH} "OBS Studio folder"
LangString DirDestination ${LANG_SIMPCHINESE} "OBS Studio 文件夹"
LangString FinishText ${LANG_ENGLISH} "${DISPLAY_NAME} ${VERSION} was installed into $INSTDIR.$\r$\n$\r$\nStart OBS Studio, pick one of the RTC services under Settings → Stream, and enter your credentials under Tools → RTC Go-Live..."
LangString FinishText ${LANG_SIMPCHINESE} "${DISPLAY_NAME} ${VERSION} 已安装到 $INSTDIR。$\r$\n$\r$\n启动 OBS Studio，在“设置 → 直播”中选择 RTC 服务，并在“工具 → RTC 一键开播...”中填写凭据。"
LangString UnConfirmTop ${LANG_ENGLISH} "${DISPLAY_NAME} will be removed from the OBS Studio folder $UnObsDir."
LangString UnConfirmTop ${LANG_SIMPCHINESE} "将从 OBS Studio 文件夹 $UnObsDir 中卸载 ${DISPLAY_NAME}。"
LangString UnConfirmLocation ${LANG_ENGLISH} "Uninstaller:"
LangString UnConfirmLocation ${LANG_SIMPCHINESE} "卸载程序："

LangString NotX64 ${LANG_ENGLISH} "${DISPLAY_NAME} needs 64-bit Windows and 64-bit OBS Studio. Nothing was changed."
LangString NotX64 ${LANG_SIMPCHINESE} "${DISPLAY_NAME} 需要 64 位 Windows 和 64 位 OBS Studio。未做任何更改。"
LangString NotAdmin ${LANG_ENGLISH} "${DISPLAY_NAME} installs into OBS Studio's folder, which needs administrator rights. Run this program again as an administrator. Nothing was changed."
LangString NotAdmin ${LANG_SIMPCHINESE} "${DISPLAY_NAME} 需要写入 OBS Studio 的安装文件夹，这需要管理员权限。请以管理员身份重新运行本程序。未做任何更改。"
LangString NoObs ${LANG_ENGLISH} "OBS Studio (64-bit) was not found: neither the folder OBS Studio's installer registered (HKLM\${OBS_KEY}) nor $PROGRAMFILES64\obs-studio holds ${OBS_EXE}. Install OBS Studio first, then run this installer again. Nothing was installed."
LangString NoObs ${LANG_SIMPCHINESE} "未找到 OBS Studio（64 位）：OBS Studio 安装程序登记的文件夹（HKLM\${OBS_KEY}）和 $PROGRAMFILES64\obs-studio 中都没有 ${OBS_EXE}。请先安装 OBS Studio，再运行本安装程序。未安装任何内容。"
LangString NotObsDir ${LANG_ENGLISH} "$INSTDIR is not an OBS Studio folder: it has no ${OBS_EXE}. Nothing was installed."
LangString NotObsDir ${LANG_SIMPCHINESE} "$INSTDIR 不是 OBS Studio 的安装文件夹：其中没有 ${OBS_EXE}。未安装任何内容。"
LangString ObsRunning ${LANG_ENGLISH} "OBS Studio is running. Close OBS Studio, then run this installer again. Nothing was installed."
LangString ObsRunning ${LANG_SIMPCHINESE} "OBS Studio 正在运行。请先关闭 OBS Studio，再运行本安装程序。未安装任何内容。"
LangString DllInUse ${LANG_ENGLISH} "$INSTDIR\${PLUGIN_DLL} is in use: OBS Studio (or another program) has it loaded. Close OBS Studio, then run this installer again. Nothing was installed."
LangString DllInUse ${LANG_SIMPCHINESE} "$INSTDIR\${PLUGIN_DLL} 正在被使用：OBS Studio（或其他程序）已加载它。请先关闭 OBS Studio，再运行本安装程序。未安装任何内容。"
LangString WriteFailed ${LANG_ENGLISH} "The plugin's files could not be written into $INSTDIR. Nothing was installed."
LangString WriteFailed ${LANG_SIMPCHINESE} "无法将插件文件写入 $INSTDIR。未安装任何内容。"
LangString UpdateFailed ${LANG_ENGLISH} "The plugin's files could not all be written into $INSTDIR. The previous installation stays registered: run this installer again, or uninstall it from Apps and Features."
LangString UpdateFailed ${LANG_SIMPCHINESE} "无法将插件文件全部写入 $INSTDIR。之前的安装仍保留登记：请重新运行本安装程序，或在“应用和功能”中卸载。"
LangString Installed ${LANG_ENGLISH} "${DISPLAY_NAME} ${VERSION} was installed into $INSTDIR."
LangString Installed ${LANG_SIMPCHINESE} "${DISPLAY_NAME} ${VERSION} 已安装到 $INSTDIR。"

LangString UnObsRunning ${LANG_ENGLISH} "OBS Studio is running. Close OBS Studio, then run the uninstaller again. Nothing was removed."
LangString UnObsRunning ${LANG_SIMPCHINESE} "OBS Studio 正在运行。请先关闭 OBS Studio，再运行卸载程序。未删除任何内容。"
LangString Uninstalled ${LANG_ENGLISH} "${DISPLAY_NAME} was removed from $UnObsDir."
LangString Uninstalled ${LANG_SIMPCHINESE} "已从 $UnObsDir 中卸载 ${DISPLAY_NAME}。"
LangString UnFilesNotFound ${LANG_ENGLISH} "${DISPLAY_NAME} was unregistered, but its files were not found in $UnObsDir, the OBS Studio folder it was installed into (was OBS Studio moved or removed?). If OBS Studio is now in another folder, delete ${PLUGIN_DLL} and the folder ${PLUGIN_DATA} there."
LangString UnFilesNotFound ${LANG_SIMPCHINESE} "已取消 ${DISPLAY_NAME} 的登记，但在其安装时所在的 OBS Studio 文件夹 $UnObsDir 中找不到它的文件（OBS Studio 是否已被移动或删除？）。如果 OBS Studio 现在位于其他文件夹，请在那里删除 ${PLUGIN_DLL} 和文件夹 ${PLUGIN_DATA}。"
LangString UnDeleteFailed ${LANG_ENGLISH} "Some of the plugin's files could not be removed from $UnObsDir (is a program using them?). Delete ${PLUGIN_DLL} and the folder ${PLUGIN_DATA} there by hand."
LangString UnDeleteFailed ${LANG_SIMPCHINESE} "无法从 $UnObsDir 中删除部分插件文件（是否有程序正在使用它们？）。请手动删除其中的 ${PLUGIN_DLL} 和文件夹 ${PLUGIN_DATA}。"

; ---------------------------------------------------------------------------------------------
; Functions both the installer and the uninstaller use (NSIS wants a copy with "un." for the
; latter).

!macro SHARED_FUNCTIONS UN
  ; Print MESSAGE: writes MESSAGE and a line break to standard output in UTF-8, when there is
  ; one (a console or a pipe: a script running the installer with /S, and the tests, read it).
  Function ${UN}Print
    Exch $R9
    Push $0
    Push $1
    Push $2
    Push $3
    System::Call 'kernel32::GetStdHandle(i -11) p.r0'
    ${If} $0 P<> 0
    ${AndIf} $0 P<> -1
      StrCpy $R9 "$R9$\r$\n"
      System::Call 'kernel32::WideCharToMultiByte(i 65001, i 0, w R9, i -1, p 0, i 0, p 0, p 0) i.r1'
      ${If} $1 > 1
        System::Alloc $1
        Pop $2
        System::Call 'kernel32::WideCharToMultiByte(i 65001, i 0, w R9, i -1, p r2, i r1, p 0, p 0)'
        IntOp $1 $1 - 1
        System::Call 'kernel32::WriteFile(p r0, p r2, i r1, *i .r3, p 0)'
        System::Free $2
      ${EndIf}
    ${EndIf}
    Pop $3
    Pop $2
    Pop $1
    Pop $0
    Pop $R9
  FunctionEnd

  ; Refuse: shows the message on the stack (OK in silent mode), prints it and leaves with the exit
  ; code in $R0. Only called before anything is written.
  Function ${UN}Refuse
    Exch $R9
    MessageBox MB_OK|MB_ICONSTOP "$R9" /SD IDOK
    Push $R9
    Call ${UN}Print
    SetErrorLevel $R0
    Quit
  FunctionEnd

  ; Pushes 1 when OBS Studio is running, else 0.
  Function ${UN}ObsRunning
    Push $0
    Push $1
    Push $2
    Push $3
    Push $4
    StrCpy $4 0
    ; The mutex an installed OBS holds while it runs (SYNCHRONIZE access is enough to open it).
    System::Call 'kernel32::OpenMutexW(i 0x00100000, i 0, w "OBSStudioCore") p.r0'
    ${If} $0 P<> 0
      System::Call 'kernel32::CloseHandle(p r0)'
      StrCpy $4 1
    ${Else}
      ; Any process named obs64.exe (a portable OBS names its mutex after its folder).
      System::Call 'kernel32::CreateToolhelp32Snapshot(i 2, i 0) p.r0' ; TH32CS_SNAPPROCESS
      ${If} $0 P<> -1
        ; PROCESSENTRY32W as a 32-bit process sees it: nine 4-byte fields, then szExeFile[260].
        System::Alloc 556
        Pop $1
        System::Call '*$1(i 556)'
        IntPtrOp $2 $1 + 36
        System::Call 'kernel32::Process32FirstW(p r0, p r1) i.r3'
        ${DoWhile} $3 <> 0
          System::Call '*$2(&w260 .r3)'
          ${If} $3 == "obs64.exe" ; case-insensitive
            StrCpy $4 1
            ${Break}
          ${EndIf}
          System::Call 'kernel32::Process32NextW(p r0, p r1) i.r3'
        ${Loop}
        System::Free $1
        System::Call 'kernel32::CloseHandle(p r0)'
      ${EndIf}
    ${EndIf}
    StrCpy $0 $4
    Pop $4
    Pop $3
    Pop $2
    Pop $1
    Exch $0
  FunctionEnd

  ; The checks the installer and the uninstaller start with: 64-bit Windows, an administrator.
  Function ${UN}CheckSystem
    ${IfNot} ${RunningX64}
      StrCpy $R0 ${EXIT_NOT_X64}
      Push "$(NotX64)"
      Call ${UN}Refuse
    ${EndIf}
    SetRegView 64
    UserInfo::GetAccountType
    Pop $0
    ${If} $0 != "Admin"
      StrCpy $R0 ${EXIT_NOT_ADMIN}
      Push "$(NotAdmin)"
      Call ${UN}Refuse
    ${EndIf}
  FunctionEnd
!macroend
!insertmacro SHARED_FUNCTIONS ""
!insertmacro SHARED_FUNCTIONS "un."

; ---------------------------------------------------------------------------------------------
; Installer

; Pushes 1 when $INSTDIR holds OBS Studio, else 0.
Function IsObsDir
  ${If} $INSTDIR != ""
  ${AndIf} ${FileExists} "$INSTDIR\${OBS_EXE}"
    Push 1
  ${Else}
    Push 0
  ${EndIf}
FunctionEnd

; Pushes 1 when the plugin DLL in $INSTDIR exists and cannot be opened for writing (loaded).
Function DllInUse
  Push $0
  StrCpy $0 0
  ${If} ${FileExists} "$INSTDIR\${PLUGIN_DLL}"
    ClearErrors
    FileOpen $1 "$INSTDIR\${PLUGIN_DLL}" a
    ${If} ${Errors}
      StrCpy $0 1
    ${Else}
      FileClose $1
    ${EndIf}
  ${EndIf}
  Exch $0
FunctionEnd

Function .onInit
  Call CheckSystem

  ${If} $INSTDIR == ""
    ; Where OBS's installer says it installed OBS (WriteRegStr HKLM "Software\OBS Studio" "" $INSTDIR).
    ReadRegStr $INSTDIR HKLM "${OBS_KEY}" ""
    Call IsObsDir
    Pop $0
    ${If} $0 == 0
      StrCpy $INSTDIR "$PROGRAMFILES64\obs-studio"
      Call IsObsDir
      Pop $0
      ${If} $0 == 0
        StrCpy $R0 ${EXIT_NO_OBS}
        Push "$(NoObs)"
        Call Refuse
      ${EndIf}
    ${EndIf}
  ${Else}
    ; /D=<folder>: it must be an OBS folder too.
    Call IsObsDir
    Pop $0
    ${If} $0 == 0
      StrCpy $R0 ${EXIT_NO_OBS}
      Push "$(NotObsDir)"
      Call Refuse
    ${EndIf}
  ${EndIf}

  Call ObsRunning
  Pop $0
  ${If} $0 == 1
    StrCpy $R0 ${EXIT_OBS_RUNNING}
    Push "$(ObsRunning)"
    Call Refuse
  ${EndIf}
  Call DllInUse
  Pop $0
  ${If} $0 == 1
    StrCpy $R0 ${EXIT_OBS_RUNNING}
    Push "$(DllInUse)"
    Call Refuse
  ${EndIf}
FunctionEnd

; The folder page: another folder must be an OBS folder too, and its plugin DLL not in use.
Function DirLeave
  Call IsObsDir
  Pop $0
  ${If} $0 == 0
    MessageBox MB_OK|MB_ICONEXCLAMATION "$(NotObsDir)"
    Abort
  ${EndIf}
  Call DllInUse
  Pop $0
  ${If} $0 == 1
    MessageBox MB_OK|MB_ICONEXCLAMATION "$(DllInUse)"
    Abort
  ${EndIf}
FunctionEnd

Section "-${PRODUCT}"
  SetShellVarContext all
  SetRegView 64
  SetOverwrite on
  AllowSkipFiles off

  ClearErrors
  ReadRegStr $0 HKLM "${UNINST_KEY}" "UninstallString"
  ${If} ${Errors}
    StrCpy $Updating 0
  ${Else}
    StrCpy $Updating 1
    ; Installed before into another OBS folder (OBS was moved or reinstalled elsewhere): that copy
    ; is ours and would be left behind, so it goes.
    ReadINIStr $1 "${UNINST_DIR}\install.ini" "Install" "ObsDir"
    ${If} $1 != ""
    ${AndIf} $1 != $INSTDIR
    ${AndIf} ${FileExists} "$1\${PLUGIN_DLL}"
      DetailPrint "Removing the copy in $1"
      Delete "$1\${PLUGIN_DLL}"
      RMDir /r "$1\${PLUGIN_DATA}"
    ${EndIf}
  ${EndIf}

  ; A failing File asks to retry or cancel (silent mode: cancel), which aborts to .onInstFailed.
  ClearErrors
  SetOutPath "$INSTDIR\obs-plugins\64bit"
  File "/oname=${PRODUCT}.dll" "${DLL}"
  ${If} ${Errors}
    Abort
  ${EndIf}
  ; The whole locale folder is the plugin's: a language a newer version dropped goes too.
  RMDir /r "$INSTDIR\${PLUGIN_DATA}\locale"
  ClearErrors
  SetOutPath "$INSTDIR\${PLUGIN_DATA}\locale"
  ${If} ${Errors}
    Abort
  ${EndIf}
  File "${LOCALE_DIR}\*.ini"
  ${If} ${Errors}
    Abort
  ${EndIf}

  ; The uninstaller and what it needs to know, outside OBS's folder.
  ClearErrors
  SetOutPath "${UNINST_DIR}"
  WriteUninstaller "${UNINST_DIR}\${UNINST_EXE}"
  WriteINIStr "${UNINST_DIR}\install.ini" "Install" "ObsDir" "$INSTDIR"
  WriteINIStr "${UNINST_DIR}\install.ini" "Install" "Version" "${VERSION}"
  ${If} ${Errors}
    Abort
  ${EndIf}

  ClearErrors
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "${DISPLAY_NAME}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"${UNINST_DIR}\${UNINST_EXE}"'
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"${UNINST_DIR}\${UNINST_EXE}" /S'
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\${OBS_EXE}"
  WriteRegDWORD HKLM "${UNINST_KEY}" "EstimatedSize" ${SIZE_KB}
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1
  ${If} ${Errors}
    Abort
  ${EndIf}

  DetailPrint "$(Installed)"
  Push "$(Installed)"
  Call Print
SectionEnd

; A file could not be written: a first install takes back what it wrote; an update keeps its
; registration (the uninstaller still removes everything).
Function .onInstFailed
  SetRegView 64
  ${If} $Updating == 1
    Push "$(UpdateFailed)"
  ${Else}
    Delete "$INSTDIR\${PLUGIN_DLL}"
    RMDir /r "$INSTDIR\${PLUGIN_DATA}"
    Delete "${UNINST_DIR}\${UNINST_EXE}"
    Delete "${UNINST_DIR}\install.ini"
    RMDir "${UNINST_DIR}"
    DeleteRegKey HKLM "${UNINST_KEY}"
    Push "$(WriteFailed)"
  ${EndIf}
  Pop $0
  MessageBox MB_OK|MB_ICONSTOP "$0" /SD IDOK
  Push $0
  Call Print
  SetErrorLevel ${EXIT_WRITE_FAILED}
FunctionEnd

; ---------------------------------------------------------------------------------------------
; Uninstaller ($INSTDIR is its own folder)

; Removes the plugin's files from the OBS folder on the stack; sets $UnFound to 1 when they were
; there, and $UnObsDir to that folder then; $UnFailed to 1 when one could not be removed.
Function un.RemoveFrom
  Exch $0
  ${If} $0 != ""
    ${If} ${FileExists} "$0\${PLUGIN_DLL}"
    ${OrIf} ${FileExists} "$0\${PLUGIN_DATA}\*.*"
      StrCpy $UnFound 1
      StrCpy $UnObsDir $0
      DetailPrint "Removing ${PRODUCT} from $0"
      Delete "$0\${PLUGIN_DLL}"
      RMDir /r "$0\${PLUGIN_DATA}"
      ${If} ${FileExists} "$0\${PLUGIN_DLL}"
      ${OrIf} ${FileExists} "$0\${PLUGIN_DATA}\*.*"
        StrCpy $UnFailed 1
      ${EndIf}
    ${EndIf}
  ${EndIf}
  Pop $0
FunctionEnd

Function un.onInit
  Call un.CheckSystem
  ReadINIStr $UnObsDir "$INSTDIR\install.ini" "Install" "ObsDir"
  ${If} $UnObsDir == ""
    ReadRegStr $UnObsDir HKLM "${UNINST_KEY}" "InstallLocation"
  ${EndIf}
  Call un.ObsRunning
  Pop $0
  ${If} $0 == 1
    StrCpy $R0 ${EXIT_OBS_RUNNING}
    Push "$(UnObsRunning)"
    Call un.Refuse
  ${EndIf}
FunctionEnd

Section "Uninstall"
  SetShellVarContext all
  SetRegView 64
  StrCpy $UnFound 0
  StrCpy $UnFailed 0
  StrCpy $1 $UnObsDir
  Push $1
  Call un.RemoveFrom
  ; Where OBS is registered now, when that is elsewhere (OBS moved and reinstalled).
  ReadRegStr $2 HKLM "${OBS_KEY}" ""
  ${If} $2 != $1
    Push $2
    Call un.RemoveFrom
  ${EndIf}

  DeleteRegKey HKLM "${UNINST_KEY}"
  Delete "$INSTDIR\install.ini"
  ; Run in place (_?=), the uninstaller cannot delete itself: whoever ran it so deletes it then
  ; (not at the next restart, which would take the uninstaller of an install made in between).
  Delete "$INSTDIR\${UNINST_EXE}"
  RMDir "$INSTDIR"

  ${If} $UnFound == 0
    ${If} $UnObsDir == ""
      StrCpy $UnObsDir $1
    ${EndIf}
    DetailPrint "$(UnFilesNotFound)"
    MessageBox MB_OK|MB_ICONEXCLAMATION "$(UnFilesNotFound)" /SD IDOK
    Push "$(UnFilesNotFound)"
    Call un.Print
    SetErrorLevel ${EXIT_FILES_NOT_FOUND}
  ${ElseIf} $UnFailed == 1
    DetailPrint "$(UnDeleteFailed)"
    MessageBox MB_OK|MB_ICONEXCLAMATION "$(UnDeleteFailed)" /SD IDOK
    Push "$(UnDeleteFailed)"
    Call un.Print
    SetErrorLevel ${EXIT_WRITE_FAILED}
  ${Else}
    DetailPrint "$(Uninstalled)"
    Push "$(Uninstalled)"
    Call un.Print
  ${EndIf}
SectionEnd

; ---------------------------------------------------------------------------------------------
; The installer's file properties

VIProductVersion "${VI_VERSION}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "ProductName" "${DISPLAY_NAME}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "CompanyName" "${PUBLISHER}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "FileDescription" "${DISPLAY_NAME} ${VERSION} for OBS Studio (64-bit) setup"
VIAddVersionKey /LANG=${LANG_ENGLISH} "LegalCopyright" "GPL-2.0-or-later"
